import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TenantConfig, TenantRegistry } from '../../../functions/core/config/tenants.js';
import { DependencyError } from '../../../functions/core/errors/app-error.js';
import { LocalSigningKeys } from '../../../functions/core/keys/local-signing-keys.js';
import { TokenMintingService } from '../../../functions/core/tokens/token-minter.js';
import { tokenSha256 } from '../../../functions/core/tokens/types.js';
import { FakeClock, MemoryLogger, MemoryTokenStore, RecordingMetrics } from '../../helpers/fakes.js';

const tenant = (id: string): TenantConfig => ({
  id,
  name: id,
  fhirBaseUrl: `https://${id}.example.org/FHIR/R4`,
  stu3BaseUrl: `https://${id}.example.org/FHIR/STU3`,
  tokenUrl: `https://${id}.example.org/oauth2/token`,
  scheduling: {
    serviceTypeSystem: 'urn:oid:1.2.3',
    serviceTypes: [{ code: '1' }],
    providerBasedScheduling: false,
  },
});

/** A fake Epic token endpoint per tenant host: counts requests, can fail per tenant. */
function fakeEpic(lifetimeSeconds = 3600) {
  const requests: string[] = [];
  const failing = new Set<string>();
  let n = 0;
  const fetchFn = (async (url: string | URL) => {
    const host = new URL(String(url)).hostname.split('.')[0]!;
    requests.push(host);
    if (failing.has(host)) return new Response(JSON.stringify({ error: 'invalid_client' }), { status: 400 });
    n++;
    return new Response(
      JSON.stringify({
        access_token: `token-${host}-${n}-abcdefghij`,
        token_type: 'Bearer',
        expires_in: lifetimeSeconds,
      }),
      { status: 200 },
    );
  }) as typeof fetch;
  return { fetchFn, requests, failing };
}

describe('TokenMintingService', () => {
  let keys: LocalSigningKeys;
  let clock: FakeClock;
  let store: MemoryTokenStore;
  let metrics: RecordingMetrics;
  let logger: MemoryLogger;
  let epic: ReturnType<typeof fakeEpic>;

  beforeAll(async () => {
    keys = await LocalSigningKeys.open({
      stateDir: await mkdtemp(join(tmpdir(), 'minter-')),
      keys: [{ keyId: 'k1', alg: 'RS384', state: 'active' }],
    });
  });

  beforeEach(() => {
    clock = new FakeClock(Date.parse('2026-12-04T10:00:00Z'));
    store = new MemoryTokenStore();
    metrics = new RecordingMetrics();
    logger = new MemoryLogger();
    epic = fakeEpic();
  });

  const minter = (ids = ['a']) =>
    new TokenMintingService({
      clientId: 'client',
      tenants: new TenantRegistry(ids.map(tenant)),
      store,
      keys,
      tokenUrls: { tokenUrl: async (t) => t.tokenUrl! },
      fetch: epic.fetchFn,
      clock,
      sleep: async () => {},
      random: () => 0,
      logger,
      metrics,
    });

  describe('when asked to mint', () => {
    it('returns the stored token while it is usable, without calling Epic', async () => {
      const m = minter();
      const first = await m.mint({ tenant: 'a', force: false });
      clock.advance(30 * 60 * 1000);
      const second = await m.mint({ tenant: 'a', force: false });
      expect(first.minted).toBe(true);
      expect(second).toEqual({ token: first.token, minted: false });
      expect(epic.requests).toHaveLength(1);
      expect(store.writes).toBe(1);
    });

    it('mints again once the stored token is within the safety margin of expiry', async () => {
      const m = minter();
      await m.mint({ tenant: 'a', force: false });
      clock.advance((3600 - 59) * 1000);
      const again = await m.mint({ tenant: 'a', force: false });
      expect(again.minted).toBe(true);
      expect(epic.requests).toHaveLength(2);
    });

    it('replaces a stored token Epic rejected (matched by hash) even though it has not expired', async () => {
      const m = minter();
      const first = await m.mint({ tenant: 'a', force: false });
      const again = await m.mint({
        tenant: 'a',
        force: false,
        rejectedTokenSha256: tokenSha256(first.token.access_token),
      });
      expect(again.minted).toBe(true);
      expect(again.token.access_token).not.toBe(first.token.access_token);
    });

    it('rate limits forced mints per tenant with the seconds to wait', async () => {
      const m = minter();
      await m.mint({ tenant: 'a', force: true });
      clock.advance(10_000);
      const error = await m.mint({ tenant: 'a', force: true }).catch((e) => e);
      expect(error.code).toBe('refresh_rate_limited');
      expect(error.retryAfterSeconds).toBe(20);
      clock.advance(20_000);
      expect((await m.mint({ tenant: 'a', force: true })).minted).toBe(true);
      expect(epic.requests).toHaveLength(2);
    });

    it('shares one mint between concurrent callers for a tenant', async () => {
      const m = minter();
      const results = await Promise.all(
        Array.from({ length: 25 }, () => m.mint({ tenant: 'a', force: false })),
      );
      expect(new Set(results.map((r) => r.token.access_token)).size).toBe(1);
      expect(epic.requests).toHaveLength(1);
    });

    it('still hands out a freshly minted token when the store write fails, and logs it', async () => {
      store.failWrites = new DependencyError('token_store_unavailable', 'Secrets Manager throttled');
      const result = await minter().mint({ tenant: 'a', force: false });
      expect(result.minted).toBe(true);
      expect(logger.codes()).toContain('TOKEN_CACHE_WRITE_FAILED');
    });

    it('after a failed store write, hands out the token it minted instead of minting again, and repairs the store', async () => {
      const m = minter();
      store.failWrites = new DependencyError('token_store_unavailable', 'Secrets Manager throttled');
      const first = await m.mint({ tenant: 'a', force: false });
      const second = await m.mint({ tenant: 'a', force: false });
      store.failWrites = undefined;
      const third = await m.mint({ tenant: 'a', force: false });

      expect(epic.requests).toHaveLength(1);
      expect(second).toEqual({ token: first.token, minted: false });
      expect(third).toEqual({ token: first.token, minted: false });
      expect(JSON.parse(store.data.get('a')!).access_token).toBe(first.token.access_token);
      expect(logger.codes()).toContain('TOKEN_CACHE_REPAIRED');
    });

    it('never answers a request to replace a rejected token with the plain request it was racing', async () => {
      const m = minter();
      const current = await m.mint({ tenant: 'a', force: false });

      const [plain, replacing] = await Promise.all([
        m.mint({ tenant: 'a', force: false }), // finds the stored token usable
        m.mint({ tenant: 'a', force: false, rejectedTokenSha256: tokenSha256(current.token.access_token) }),
      ]);

      expect(plain).toEqual({ token: current.token, minted: false });
      expect(replacing.minted).toBe(true);
      expect(replacing.token.access_token).not.toBe(current.token.access_token);
    });

    it('does not pass off a racing plain mint as a forced one', async () => {
      const m = minter();
      const [plain, forced] = await Promise.allSettled([
        m.mint({ tenant: 'a', force: false }),
        m.mint({ tenant: 'a', force: true }),
      ]);
      expect(plain).toMatchObject({ status: 'fulfilled', value: { minted: true } });
      // The forced request saw a token minted moments ago: rate limited, never a silent "minted: false".
      expect(forced).toMatchObject({ status: 'rejected', reason: { code: 'refresh_rate_limited' } });
    });

    it('mints when the store cannot be read', async () => {
      store.failReads = new DependencyError('token_store_unavailable', 'unavailable');
      const result = await minter().mint({ tenant: 'a', force: false });
      expect(result.minted).toBe(true);
      expect(logger.codes()).toContain('TOKEN_CACHE_READ_FAILED');
    });

    it('rejects an unknown tenant before touching Epic', async () => {
      const error = await minter()
        .mint({ tenant: 'nope', force: false })
        .catch((e) => e);
      expect(error.code).toBe('unknown_tenant');
      expect(epic.requests).toHaveLength(0);
    });
  });

  describe('as the warmer', () => {
    it('mints only tenants whose token has less than two warmer intervals plus the margin left', async () => {
      const m = minter(['a', 'b']); // warmer every 300 s, margin 60 s: refresh below 660 s left
      await m.mint({ tenant: 'a', force: false });
      clock.advance(2 * 60 * 1000);
      await m.mint({ tenant: 'b', force: false });
      clock.advance((60 - 2 - 10) * 60 * 1000 + 30_000); // a: 9.5 min left (< 11), b: 11.5 min left

      const summary = await m.warm();

      expect(summary.tenants.map((t) => [t.tenant, t.outcome])).toEqual([
        ['a', 'refreshed'],
        ['b', 'fresh'],
      ]);
      expect(epic.requests).toEqual(['a', 'b', 'a']);
      expect(
        metrics.calls
          .filter((c) => c.name === 'TokenRemainingSeconds')
          .map((c) => c.dimensions.tenant)
          .sort(),
      ).toEqual(['a', 'b']);
    });

    it('keeps warming other tenants when one fails, and counts the failure', async () => {
      epic.failing.add('b');
      const summary = await minter(['a', 'b', 'c']).warm();
      expect(summary).toMatchObject({ refreshed: 2, failed: 1 });
      expect(summary.tenants.find((t) => t.tenant === 'b')).toMatchObject({
        outcome: 'failed',
        error: 'epic_token_rejected',
      });
      expect(metrics.total('WarmerTenantFailed', { tenant: 'b' })).toBe(1);
    });

    it('repairs the cache from the last minted token after a failed write, without minting again', async () => {
      const m = minter();
      store.failWrites = new DependencyError('token_store_unavailable', 'throttled');
      const minted = await m.mint({ tenant: 'a', force: false });
      store.failWrites = undefined;

      const summary = await m.warm();

      expect(summary.tenants[0]!.outcome).toBe('repaired');
      expect(JSON.parse(store.data.get('a')!).access_token).toBe(minted.token.access_token);
      expect(epic.requests).toHaveLength(1);
    });
  });
});
