import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_ASSERTION_TYPE,
  requestAccessToken,
  type TokenClientDependencies,
} from '../../../functions/core/epic/token-client.js';
import { EpicTokenRejectedError } from '../../../functions/core/errors/app-error.js';
import { buildJwks } from '../../../functions/core/keys/jwks.js';
import { LocalSigningKeys } from '../../../functions/core/keys/local-signing-keys.js';
import { FakeClock, MemoryLogger, RecordingMetrics } from '../../helpers/fakes.js';

const TOKEN_URL = 'https://epic.example.org/oauth2/token';
const CLIENT_ID = 'client-123';
const ACCESS_TOKEN = 'opaque-access-token-value-1234567890';

type Reply = { status: number; body?: string; headers?: Record<string, string> } | 'network-error' | 'hang';

/** A strict fake of Epic's token endpoint: only form POSTs to TOKEN_URL, scripted answers, loud on anything else. */
function scriptedTokenEndpoint(replies: Reply[]) {
  const requests: URLSearchParams[] = [];
  const fetchFn = (async (url: string | URL, init?: RequestInit) => {
    if (String(url) !== TOKEN_URL) throw new Error(`unexpected request to ${String(url)}`);
    if (init?.method !== 'POST') throw new Error(`unexpected method ${init?.method}`);
    const headers = new Headers(init.headers);
    if (headers.get('content-type') !== 'application/x-www-form-urlencoded')
      throw new Error('token request is not a form post');
    requests.push(new URLSearchParams(String(init.body)));
    const reply = replies.shift();
    if (!reply) throw new Error('more token requests than the test expected');
    if (reply === 'network-error') throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    if (reply === 'hang') {
      return new Promise((_, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    }
    return new Response(reply.body ?? '', { status: reply.status, headers: reply.headers ?? {} });
  }) as typeof fetch;
  return { fetchFn, requests };
}

const okBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    access_token: ACCESS_TOKEN,
    token_type: 'bearer',
    expires_in: 1800,
    scope: 'system/Appointment.read',
    ...extra,
  });

describe('requestAccessToken', () => {
  let keys: LocalSigningKeys;
  beforeAll(async () => {
    keys = await LocalSigningKeys.open({
      stateDir: await mkdtemp(join(tmpdir(), 'token-client-')),
      keys: [{ keyId: 'k1', alg: 'RS384', state: 'active' }],
    });
  });

  function deps(
    fetchFn: typeof fetch,
    sleeps: number[] = [],
  ): TokenClientDependencies & { logger: MemoryLogger } {
    const clock = new FakeClock(Date.parse('2026-12-04T10:00:00Z'));
    return {
      clientId: CLIENT_ID,
      keys,
      fetch: fetchFn,
      clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.advance(ms);
      },
      random: () => 0.5,
      logger: new MemoryLogger(),
      metrics: new RecordingMetrics(),
    };
  }

  describe('when Epic answers 200', () => {
    it('posts the SMART backend form and returns the token with expiry from expires_in', async () => {
      const epic = scriptedTokenEndpoint([{ status: 200, body: okBody() }]);
      const d = deps(epic.fetchFn);

      const token = await requestAccessToken(
        { tenant: 't1', tokenUrl: TOKEN_URL, scope: 'system/Appointment.read' },
        d,
      );

      const form = epic.requests[0]!;
      expect(form.get('grant_type')).toBe('client_credentials');
      expect(form.get('client_assertion_type')).toBe(CLIENT_ASSERTION_TYPE);
      expect(form.get('scope')).toBe('system/Appointment.read');
      const { payload } = await compactVerify(
        form.get('client_assertion')!,
        createLocalJWKSet(await buildJwks(keys)),
      );
      expect(JSON.parse(Buffer.from(payload).toString()).aud).toBe(TOKEN_URL);
      expect(token.access_token).toBe(ACCESS_TOKEN);
      expect(token.expires_in).toBe(1800);
      expect(Date.parse(token.expires_at) - Date.parse(token.obtained_at)).toBe(1_800_000);
      expect(token.token_type).toBe('bearer');
    });

    it('sends no scope when the tenant has none', async () => {
      const epic = scriptedTokenEndpoint([{ status: 200, body: okBody() }]);
      await requestAccessToken({ tenant: 't1', tokenUrl: TOKEN_URL }, deps(epic.fetchFn));
      expect(epic.requests[0]!.has('scope')).toBe(false);
    });

    it.each([
      ['a non-JSON body', 'not json'],
      ['a token_type other than bearer', okBody({ token_type: 'mac' })],
      ['no expires_in', okBody({ expires_in: undefined })],
      ['an empty access_token', okBody({ access_token: '' })],
    ])(
      'rejects %s as epic_bad_response without retrying and without echoing the token',
      async (_name, body) => {
        const epic = scriptedTokenEndpoint([{ status: 200, body }]);
        const error = await requestAccessToken(
          { tenant: 't1', tokenUrl: TOKEN_URL },
          deps(epic.fetchFn),
        ).catch((e) => e);
        expect(error.code).toBe('epic_bad_response');
        expect(JSON.stringify(error.toJSON())).not.toContain(ACCESS_TOKEN);
        expect(epic.requests).toHaveLength(1);
      },
    );
  });

  it('refuses an oversized 200 body as epic_bad_response without reading it all', async () => {
    const epic = scriptedTokenEndpoint([{ status: 200, body: 'x'.repeat(5 * 1024 * 1024) }]);
    const error = await requestAccessToken({ tenant: 't1', tokenUrl: TOKEN_URL }, deps(epic.fetchFn)).catch(
      (e) => e,
    );
    expect(error.code).toBe('epic_bad_response');
    expect(epic.requests).toHaveLength(1);
  });

  describe('when Epic answers an OAuth error', () => {
    it.each([
      ['invalid_client', /JWK Set URL/],
      ['unauthorized_client', /mapped to an Epic user/],
      ['invalid_request', /malformed/],
    ])(
      'throws epic_token_rejected for %s with an operator hint and does not retry',
      async (epicError, hint) => {
        const epic = scriptedTokenEndpoint([{ status: 400, body: JSON.stringify({ error: epicError }) }]);
        const d = deps(epic.fetchFn);
        const error = await requestAccessToken({ tenant: 't1', tokenUrl: TOKEN_URL }, d).catch((e) => e);
        expect(error).toBeInstanceOf(EpicTokenRejectedError);
        expect(error.code).toBe('epic_token_rejected');
        expect(error.details.epicError).toBe(epicError);
        expect(error.details.hint).toMatch(hint);
        expect(epic.requests).toHaveLength(1);
        expect((d.metrics as RecordingMetrics).total('EpicTokenError', { epicError })).toBe(1);
      },
    );
  });

  describe('when Epic answers 429 or 5xx', () => {
    it('retries with a fresh assertion (new jti) and honours Retry-After', async () => {
      const epic = scriptedTokenEndpoint([
        { status: 429, headers: { 'Retry-After': '2' } },
        { status: 503 },
        { status: 200, body: okBody() },
      ]);
      const sleeps: number[] = [];
      const token = await requestAccessToken(
        { tenant: 't1', tokenUrl: TOKEN_URL },
        deps(epic.fetchFn, sleeps),
      );
      expect(token.access_token).toBe(ACCESS_TOKEN);
      expect(epic.requests).toHaveLength(3);
      expect(sleeps[0]).toBeGreaterThanOrEqual(2000);
      const jtis = epic.requests.map(
        (r) => JSON.parse(Buffer.from(r.get('client_assertion')!.split('.')[1]!, 'base64url').toString()).jti,
      );
      expect(new Set(jtis).size).toBe(3);
    });

    it('gives up after the bounded attempts with epic_unavailable', async () => {
      const epic = scriptedTokenEndpoint([{ status: 500 }, { status: 502 }, { status: 500 }]);
      const error = await requestAccessToken({ tenant: 't1', tokenUrl: TOKEN_URL }, deps(epic.fetchFn)).catch(
        (e) => e,
      );
      expect(error.code).toBe('epic_unavailable');
      expect(error.details.status).toBe(500);
      expect(epic.requests).toHaveLength(3);
    });

    it('does not wait when Retry-After exceeds the time budget', async () => {
      const epic = scriptedTokenEndpoint([{ status: 429, headers: { 'Retry-After': '3600' } }]);
      const sleeps: number[] = [];
      const error = await requestAccessToken(
        { tenant: 't1', tokenUrl: TOKEN_URL },
        deps(epic.fetchFn, sleeps),
      ).catch((e) => e);
      expect(error.code).toBe('epic_rate_limited');
      expect(sleeps).toEqual([]);
    });
  });

  describe('when Epic cannot be reached', () => {
    it('retries a refused connection and reports epic_unavailable naming the cause', async () => {
      const epic = scriptedTokenEndpoint(['network-error', 'network-error', 'network-error']);
      const error = await requestAccessToken({ tenant: 't1', tokenUrl: TOKEN_URL }, deps(epic.fetchFn)).catch(
        (e) => e,
      );
      expect(error.code).toBe('epic_unavailable');
      expect(error.details.reason).toBe('ECONNREFUSED');
    });

    it('caps each attempt at what is left of the budget and starts no attempt without time for it', async () => {
      const epic = scriptedTokenEndpoint(['hang', 'hang', 'hang']);
      const error = await requestAccessToken({ tenant: 't1', tokenUrl: TOKEN_URL }, deps(epic.fetchFn), {
        requestTimeoutMs: 60_000,
        retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
        budgetMs: 300,
      }).catch((e) => e);
      expect(error.code).toBe('epic_timeout');
      // One attempt, cut at the 300 ms budget (the test would time out at the 60 s request timeout);
      // no retry is started with less than a second left.
      expect(epic.requests).toHaveLength(1);
    });

    it('times out a hanging request and reports epic_timeout', async () => {
      const epic = scriptedTokenEndpoint(['hang']);
      const error = await requestAccessToken({ tenant: 't1', tokenUrl: TOKEN_URL }, deps(epic.fetchFn), {
        requestTimeoutMs: 50,
        retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
        budgetMs: 1000,
      }).catch((e) => e);
      expect(error.code).toBe('epic_timeout');
    });
  });
});
