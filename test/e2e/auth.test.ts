import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KeyConfig } from '../../functions/core/keys/types.js';
import { createLocalRuntime, type LocalRuntime } from '../../local/runtime/app.js';
import { captureLogs, expectNoSecrets, type LogCapture } from '../helpers/log-capture.js';

/**
 * The auth half end to end over real HTTP on loopback: the local runtime (the real handlers, key
 * and token store) and the Epic sandbox simulator, which fetches our JWK Set and validates every
 * assertion the way Epic does.
 */
type Header = Record<string, unknown>;
type Claims = Record<string, unknown>;
type Tamper = (header: Header, claims: Claims) => { header: Header; claims: Claims; unsigned?: boolean };

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const unb64 = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

/** Everything secret the test saw, to prove none of it reached a log line. */
const secrets = new Set<string>();

describe('SMART Backend Services auth, end to end', () => {
  let runtime: LocalRuntime;
  let tamper: Tamper | undefined;
  let replayNextWith: string | undefined;
  let formAsJson = false;
  let logs: LogCapture;

  /**
   * Sits between our token client and the simulator. Normally passes through (recording the
   * assertion); when a test sets `tamper`, it rewrites the assertion's header/claims and re-signs
   * it with our real active key, so only the tampered field is wrong.
   */
  const interceptingFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith('/oauth2/token') && init?.body) {
      const form = new URLSearchParams(String(init.body));
      const assertion = form.get('client_assertion')!;
      secrets.add(assertion);
      if (replayNextWith) {
        form.set('client_assertion', replayNextWith);
        replayNextWith = undefined;
      } else if (tamper) {
        const [h, c] = assertion.split('.');
        const out = tamper(unb64(h!), unb64(c!));
        const input = `${b64(out.header)}.${b64(out.claims)}`;
        const kid = (await runtime.keys.activeKey()).kid;
        const sig = out.unsigned
          ? ''
          : Buffer.from(await runtime.keys.sign(kid, Buffer.from(input))).toString('base64url');
        form.set('client_assertion', `${input}.${sig}`);
        secrets.add(`${input}.${sig}`);
      }
      if (formAsJson) {
        return fetch(url, {
          ...init,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(Object.fromEntries(form)),
        });
      }
      return fetch(url, { ...init, body: form.toString() });
    }
    return fetch(input, init);
  }) as typeof fetch;

  async function refresh(body: unknown) {
    const res = await fetch(runtime.refreshUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (typeof json.access_token === 'string') secrets.add(json.access_token);
    return { status: res.status, headers: res.headers, body: json };
  }

  beforeAll(async () => {
    logs = captureLogs();
    runtime = await createLocalRuntime({
      stateDir: await mkdtemp(join(tmpdir(), 'e2e-auth-')),
      fetch: interceptingFetch,
      localKeys: [{ keyId: 'key-2026-a', alg: 'RS384', state: 'active' }],
      minterSettings: { forceMinIntervalSeconds: 0 },
    });
  });

  afterAll(async () => {
    await runtime.close();
    logs.restore();
    const leaked = expectNoSecrets(logs.text(), secrets);
    expect(leaked, 'no token, assertion or Authorization value in any log line').toEqual([]);
    expect(secrets.size).toBeGreaterThan(10);
  });

  afterEach(() => {
    tamper = undefined;
    formAsJson = false;
  });

  it('serves a JWK Set with the active key, public members only, cacheable', async () => {
    const res = await fetch(runtime.jwksUrl);
    const jwks = (await res.json()) as { keys: Array<Record<string, unknown>> };
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(jwks.keys).toHaveLength(1);
    expect(Object.keys(jwks.keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(jwks.keys[0]).toMatchObject({
      kty: 'RSA',
      alg: 'RS384',
      use: 'sig',
      kid: (await runtime.keys.activeKey()).kid,
    });
  });

  it('mints on the first refresh, serves the cache on the second, and mints again when forced', async () => {
    const sim = runtime.simulator!;
    sim.resetStats();

    const first = await refresh({ tenant: 'sandbox' });
    const second = await refresh({ tenant: 'sandbox' });
    const afterTwo = sim.stats('sandbox').tokenRequests;
    const forced = await refresh({ tenant: 'sandbox', force: true });

    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body).toMatchObject({ tenant: 'sandbox', token_type: 'Bearer', refreshed: true });
    expect(first.body.expires_in).toBeGreaterThan(3500);
    expect(second.body).toMatchObject({ access_token: first.body.access_token, refreshed: false });
    expect(afterTwo).toBe(1);
    expect(forced.body.refreshed).toBe(true);
    expect(forced.body.access_token).not.toBe(first.body.access_token);
    expect(sim.stats('sandbox').tokenRequests).toBe(2);
    expect(sim.stats('sandbox').discoveryRequests).toBe(1);
    expect(sim.stats('sandbox').unexpected).toEqual([]);
  });

  it('answers 400 naming the field, 404 for an unknown tenant, and changes nothing', async () => {
    runtime.simulator!.resetStats();
    const cases = [
      [{}, 400, 'tenant'],
      [{ tenant: 'sandbox', force: 'yes' }, 400, 'force'],
      [{ tenant: 'sandbox', extra: 1 }, 400, 'extra'],
      [{ tenant: 'elsewhere' }, 404, 'tenant'],
    ] as const;
    for (const [body, status, field] of cases) {
      const res = await refresh(body);
      expect(res.status).toBe(status);
      expect((res.body.details as Record<string, unknown>).field).toBe(field);
      expect(res.body.message).toEqual(expect.any(String));
    }
    expect(runtime.simulator!.stats('sandbox').tokenRequests).toBe(0);
  });

  describe('when the code is made to produce a bad assertion, the simulator refuses it like Epic', () => {
    const variants: Array<[string, Tamper]> = [
      ['alg PS384', (h, c) => ({ header: { ...h, alg: 'PS384' }, claims: c })],
      ['alg HS256', (h, c) => ({ header: { ...h, alg: 'HS256' }, claims: c })],
      ['alg none', (h, c) => ({ header: { ...h, alg: 'none' }, claims: c, unsigned: true })],
      ['a missing kid', (h, c) => ({ header: { alg: h.alg, typ: h.typ }, claims: c })],
      ['an unknown kid', (h, c) => ({ header: { ...h, kid: 'not-a-published-kid' }, claims: c })],
      [
        'a key whose alg differs (ES384 on an RS384 key)',
        (h, c) => ({ header: { ...h, alg: 'ES384' }, claims: c }),
      ],
      ['typ other than JWT', (h, c) => ({ header: { ...h, typ: 'at+jwt' }, claims: c })],
      ['iss != sub', (h, c) => ({ header: h, claims: { ...c, sub: 'someone-else' } })],
      [
        'an unknown client id',
        (h, c) => ({ header: h, claims: { ...c, iss: 'unknown-client', sub: 'unknown-client' } }),
      ],
      ['a wrong aud', (h, c) => ({ header: h, claims: { ...c, aud: `${c.aud}/other` } })],
      [
        'exp more than 5 minutes ahead',
        (h, c) => ({ header: h, claims: { ...c, exp: (c.iat as number) + 301 } }),
      ],
      ['exp in the past', (h, c) => ({ header: h, claims: { ...c, exp: (c.iat as number) - 10 } })],
      ['iat in the future', (h, c) => ({ header: h, claims: { ...c, iat: (c.iat as number) + 60 } })],
      ['nbf in the future', (h, c) => ({ header: h, claims: { ...c, nbf: (c.iat as number) + 60 } })],
      ['a non-string jti', (h, c) => ({ header: h, claims: { ...c, jti: 12345 } })],
      ['a jti over 151 characters', (h, c) => ({ header: h, claims: { ...c, jti: 'j'.repeat(152) } })],
    ];

    it.each(variants)(
      'rejects %s with invalid_client, and the route answers 502 with a hint',
      async (_name, variant) => {
        const sim = runtime.simulator!;
        sim.resetStats();
        tamper = variant;

        const res = await refresh({ tenant: 'sandbox-pbs', force: true });

        expect(res.status).toBe(502);
        expect(res.body.error).toBe('epic_token_rejected');
        expect(res.body.details).toMatchObject({
          epicError: 'invalid_client',
          hint: expect.stringMatching(/JWK Set URL/),
        });
        expect(sim.stats('sandbox-pbs').tokensIssued).toBe(0);
        expect(sim.stats('sandbox-pbs').rejections.map((r) => r.error)).toEqual(['invalid_client']);
      },
    );

    it('rejects a reused jti', async () => {
      const sim = runtime.simulator!;
      const ok = await refresh({ tenant: 'sandbox-pbs', force: true });
      expect(ok.status).toBe(200);
      const used = [...secrets]
        .filter((s) => s.split('.').length === 3 && unb64(s.split('.')[1]!).aud?.includes('sandbox-pbs'))
        .pop()!;
      sim.resetStats();
      replayNextWith = used;

      const res = await refresh({ tenant: 'sandbox-pbs', force: true });

      expect(res.status).toBe(502);
      expect(res.body.details).toMatchObject({ epicError: 'invalid_client' });
      expect(sim.stats('sandbox-pbs').rejections[0]!.reason).toMatch(/jti/);
    });

    it('rejects a body that is not a form with invalid_request', async () => {
      formAsJson = true;
      const res = await refresh({ tenant: 'sandbox-pbs', force: true });
      expect(res.status).toBe(502);
      expect(res.body.details).toMatchObject({ epicError: 'invalid_request' });
    });

    it('reports unauthorized_client with the user-mapping hint', async () => {
      runtime.simulator!.setFault('sandbox-pbs', 'token', {
        kind: 'oauth-error',
        error: 'unauthorized_client',
        times: 1,
      });
      const res = await refresh({ tenant: 'sandbox-pbs', force: true });
      expect(res.status).toBe(502);
      expect(res.body.details).toMatchObject({
        epicError: 'unauthorized_client',
        hint: expect.stringMatching(/mapped to an Epic user/),
      });
    });
  });

  describe('key rotation, the Epic way', () => {
    it('publishes a next key before use, signs with it after promotion, and drops it when retired', async () => {
      const sim = runtime.simulator!;
      const kidOf = async () => (await runtime.keys.activeKey()).kid;
      const published = async () =>
        ((await (await fetch(runtime.jwksUrl)).json()) as { keys: Array<{ kid: string }> }).keys.map(
          (k) => k.kid,
        );
      const oldKid = await kidOf();
      const before = await refresh({ tenant: 'sandbox-pbs', force: true });
      expect(before.status).toBe(200);

      // 1. Publish the new key as `next`: in the JWK Set, not used.
      const withNext: KeyConfig[] = [
        { keyId: 'key-2026-a', alg: 'RS384', state: 'active' },
        { keyId: 'key-2026-b', alg: 'ES384', state: 'next' },
      ];
      await runtime.setLocalKeys(withNext);
      const [, nextKey] = await runtime.keys
        .publicKeys()
        .then((keys) => [keys, keys.find((k) => k.state === 'next')!]);
      const nextKid = (nextKey as { kid: string }).kid;
      expect(await published()).toEqual(expect.arrayContaining([oldKid, nextKid]));
      expect(await kidOf()).toBe(oldKid);

      // 2. Promote it: new tokens are signed with it and Epic (re-fetching on the unknown kid) accepts them.
      await runtime.setLocalKeys([
        { keyId: 'key-2026-b', alg: 'ES384', state: 'active' },
        { keyId: 'key-2026-a', alg: 'RS384', state: 'next' },
      ]);
      sim.resetStats();
      const after = await refresh({ tenant: 'sandbox-pbs', force: true });
      expect(after.status).toBe(200);
      expect(await kidOf()).toBe(nextKid);
      expect(sim.stats('sandbox-pbs').rejections).toEqual([]);
      const stored = await runtime.store.read('sandbox-pbs');
      expect(stored?.kid).toBe(nextKid);

      // 3. Retire the old key: it leaves the JWK Set.
      await runtime.setLocalKeys([
        { keyId: 'key-2026-b', alg: 'ES384', state: 'active' },
        { keyId: 'key-2026-a', alg: 'RS384', state: 'retired' },
      ]);
      expect(await published()).toEqual([nextKid]);
    });
  });

  describe('with an empty cache and 50 concurrent refresh calls', () => {
    it('sends exactly one token request to Epic', async () => {
      const fresh = await createLocalRuntime({ stateDir: await mkdtemp(join(tmpdir(), 'e2e-burst-')) });
      try {
        const calls = Array.from({ length: 50 }, () =>
          fetch(fresh.refreshUrl, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ tenant: 'sandbox-pbs' }),
          }).then((r) => r.json() as Promise<{ access_token: string }>),
        );
        const bodies = await Promise.all(calls);
        for (const b of bodies) secrets.add(b.access_token);
        expect(new Set(bodies.map((b) => b.access_token)).size).toBe(1);
        expect(fresh.simulator!.stats('sandbox-pbs').tokenRequests).toBe(1);
      } finally {
        await fresh.close();
      }
    });
  });
});
