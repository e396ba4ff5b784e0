import { beforeEach, describe, expect, it } from 'vitest';
import { CachingTokenProvider } from '../../../functions/core/tokens/token-provider.js';
import type {
  CachedToken,
  MintRequest,
  MintResult,
  TokenMinter,
} from '../../../functions/core/tokens/types.js';
import { tokenSha256 } from '../../../functions/core/tokens/types.js';
import { FakeClock, MemoryLogger, MemoryTokenStore, RecordingMetrics } from '../../helpers/fakes.js';

/** A minter that writes the store like the real one, and records its calls. */
class CountingMinter implements TokenMinter {
  calls: MintRequest[] = [];
  n = 0;
  constructor(
    private readonly store: MemoryTokenStore,
    private readonly clock: FakeClock,
  ) {}
  async mint(request: MintRequest): Promise<MintResult> {
    this.calls.push(request);
    await new Promise((r) => setTimeout(r, 5));
    const now = this.clock.now();
    const token: CachedToken = {
      tenant: request.tenant,
      access_token: `token-${++this.n}-abcdefghijklmnop`,
      token_type: 'Bearer',
      expires_in: 3600,
      obtained_at: new Date(now).toISOString(),
      expires_at: new Date(now + 3_600_000).toISOString(),
    };
    await this.store.write(token);
    return { token, minted: true };
  }
}

describe('CachingTokenProvider', () => {
  let clock: FakeClock;
  let store: MemoryTokenStore;
  let minter: CountingMinter;
  let provider: CachingTokenProvider;

  beforeEach(() => {
    clock = new FakeClock(Date.parse('2026-12-04T10:00:00Z'));
    store = new MemoryTokenStore();
    minter = new CountingMinter(store, clock);
    provider = new CachingTokenProvider({
      store,
      minter,
      clock,
      logger: new MemoryLogger(),
      metrics: new RecordingMetrics(),
    });
  });

  describe('with an empty cache and 50 concurrent callers', () => {
    it('invokes the minter exactly once and gives everyone the same token', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => provider.getToken('a')));
      expect(minter.calls).toHaveLength(1);
      expect(new Set(results.map((r) => r.token.access_token)).size).toBe(1);
    });
  });

  describe('with a warm cache', () => {
    it('serves memory first, then the store in another container, without minting', async () => {
      await provider.getToken('a');
      const fromMemory = await provider.getToken('a');
      const otherContainer = new CachingTokenProvider({
        store,
        minter,
        clock,
        logger: new MemoryLogger(),
        metrics: new RecordingMetrics(),
      });
      const fromStore = await otherContainer.getToken('a');
      expect(fromMemory.source).toBe('memory');
      expect(fromStore.source).toBe('store');
      expect(minter.calls).toHaveLength(1);
    });

    it('re-checks expiry on every use and never hands out a token inside the safety margin', async () => {
      const first = await provider.getToken('a');
      clock.advance((3600 - 60) * 1000);
      const second = await provider.getToken('a');
      expect(second.token.access_token).not.toBe(first.token.access_token);
      expect(second.source).toBe('minter');
    });
  });

  describe('when Epic rejects a token with 401', () => {
    it('forgets it only if it is still the cached one and asks the minter to replace it', async () => {
      const first = await provider.getToken('a');
      provider.invalidate('a', first.token.access_token);
      const replaced = await provider.getToken('a');
      expect(replaced.token.access_token).not.toBe(first.token.access_token);
      expect(minter.calls[1]!.rejectedTokenSha256).toBe(tokenSha256(first.token.access_token));

      provider.invalidate('a', first.token.access_token); // a late 401 for the old token
      const kept = await provider.getToken('a');
      expect(kept).toMatchObject({ source: 'memory' });
      expect(kept.token.access_token).toBe(replaced.token.access_token);
    });
  });

  describe('when forced', () => {
    it('always goes to the minter with force', async () => {
      await provider.getToken('a');
      const forced = await provider.forceRefresh('a');
      expect(forced.refreshed).toBe(true);
      expect(minter.calls.map((c) => c.force)).toEqual([false, true]);
    });
  });
});
