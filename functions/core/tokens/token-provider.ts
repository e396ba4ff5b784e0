import type { Clock } from '../clock.js';
import { AppError } from '../errors/app-error.js';
import { type AppLogger, type AppMetrics, METRIC } from '../observability/powertools.js';
import {
  type CachedToken,
  isRejected,
  isUsable,
  type ProvidedToken,
  type TokenMinter,
  type TokenProvider,
  type TokenStore,
  tokenSha256,
} from './types.js';

/**
 * How readers get a token: the in-memory copy, then the store, then the minter, checking
 * `expires_at` minus a safety margin on every use whichever cache served it. Concurrent callers
 * for one tenant share one store read and one mint (single-flight inside the process).
 */
export interface TokenProviderDependencies {
  store: TokenStore;
  minter: TokenMinter;
  clock: Clock;
  logger: AppLogger;
  metrics: AppMetrics;
  /** A token with less than this left is never handed out (default 60 s). */
  safetyMarginSeconds?: number;
}

export class CachingTokenProvider implements TokenProvider {
  private readonly memory = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<ProvidedToken>>();
  /** Hash of the token Epic last rejected per tenant; such a token is never handed out again. */
  private readonly rejected = new Map<string, string>();
  private readonly marginMs: number;

  constructor(private readonly deps: TokenProviderDependencies) {
    this.marginMs = (deps.safetyMarginSeconds ?? 60) * 1000;
  }

  async getToken(tenant: string): Promise<ProvidedToken> {
    const cached = this.memory.get(tenant);
    if (cached && this.usable(tenant, cached)) {
      this.deps.metrics.count(METRIC.tokenCacheHit, { source: 'memory' });
      return { token: cached, source: 'memory', refreshed: false };
    }
    return this.shared(`get:${tenant}`, () => this.fromStoreOrMinter(tenant));
  }

  async forceRefresh(tenant: string): Promise<ProvidedToken> {
    return this.shared(`force:${tenant}`, async () => {
      const result = await this.deps.minter.mint({ tenant, force: true });
      return this.remember(tenant, result.token, 'minter', result.minted);
    });
  }

  invalidate(tenant: string, rejectedAccessToken: string): void {
    const hash = tokenSha256(rejectedAccessToken);
    this.rejected.set(tenant, hash);
    const cached = this.memory.get(tenant);
    if (cached && cached.access_token === rejectedAccessToken) this.memory.delete(tenant);
    this.deps.logger.warn('TOKEN_INVALIDATED', { tenant });
  }

  private usable(tenant: string, token: CachedToken): boolean {
    return (
      isUsable(token, this.deps.clock.now(), this.marginMs) && !isRejected(token, this.rejected.get(tenant))
    );
  }

  private shared(key: string, run: () => Promise<ProvidedToken>): Promise<ProvidedToken> {
    const running = this.inflight.get(key);
    if (running) return running;
    const promise = run().finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }

  private async fromStoreOrMinter(tenant: string): Promise<ProvidedToken> {
    let stored: CachedToken | undefined;
    try {
      stored = await this.deps.store.read(tenant);
    } catch (error) {
      this.deps.logger.warn('TOKEN_CACHE_READ_FAILED', {
        tenant,
        errorCode: error instanceof AppError ? error.code : 'unknown',
      });
    }
    if (stored && this.usable(tenant, stored)) {
      this.deps.metrics.count(METRIC.tokenCacheHit, { source: 'store' });
      return this.remember(tenant, stored, 'store', false);
    }
    this.deps.metrics.count(METRIC.tokenCacheMiss, { source: 'store' });
    const rejectedTokenSha256 = this.rejected.get(tenant);
    const result = await this.deps.minter.mint({
      tenant,
      force: false,
      ...(rejectedTokenSha256 ? { rejectedTokenSha256 } : {}),
    });
    return this.remember(tenant, result.token, 'minter', result.minted);
  }

  private remember(
    tenant: string,
    token: CachedToken,
    source: ProvidedToken['source'],
    refreshed: boolean,
  ): ProvidedToken {
    if (this.rejected.get(tenant) !== tokenSha256(token.access_token)) this.rejected.delete(tenant);
    this.memory.set(tenant, token);
    return { token, source, refreshed };
  }
}
