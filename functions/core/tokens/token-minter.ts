import type { TenantRegistry } from '../config/tenants.js';
import type { TokenUrlResolver } from '../epic/smart-configuration.js';
import {
  DEFAULT_TOKEN_CLIENT_OPTIONS,
  requestAccessToken,
  type TokenClientDependencies,
  type TokenClientOptions,
} from '../epic/token-client.js';
import { AppError, RateLimitedError } from '../errors/app-error.js';
import { METRIC } from '../observability/powertools.js';
import {
  type CachedToken,
  isRejected,
  isUsable,
  type MintRequest,
  type MintResult,
  msUntilExpiry,
  type TokenMinter,
  type TokenStore,
} from './types.js';

/**
 * The token minter: the only code that signs assertions and calls Epic's token endpoint, and the
 * only writer of the token store (ARCHITECTURE.md, decision 3). In AWS it runs as a Lambda with
 * reserved concurrency 1; locally it is called in-process. It re-reads the store before minting, so
 * readers racing on a miss share one mint.
 */
export interface MinterSettings {
  /** A token with less than this left is not handed out. */
  safetyMarginSeconds: number;
  /** Forced mints for one tenant are refused (429) when the stored token is younger than this. */
  forceMinIntervalSeconds: number;
  /**
   * How often the warmer runs. It refreshes a token once less than two intervals plus the safety
   * margin are left: each token serves as long as it safely can (Epic's token endpoint, KMS and
   * Secrets Manager see one call per token lifetime), and a failed refresh still has one more
   * warmer run before readers would have to mint on demand.
   */
  warmerIntervalSeconds: number;
  /** Tenants warmed at once. */
  warmConcurrency: number;
  tokenClient: TokenClientOptions;
}

export const DEFAULT_MINTER_SETTINGS: MinterSettings = {
  safetyMarginSeconds: 60,
  forceMinIntervalSeconds: 30,
  warmerIntervalSeconds: 300,
  warmConcurrency: 4,
  tokenClient: DEFAULT_TOKEN_CLIENT_OPTIONS,
};

export interface MinterDependencies extends TokenClientDependencies {
  tenants: TenantRegistry;
  store: TokenStore;
  tokenUrls: TokenUrlResolver;
  settings?: Partial<MinterSettings>;
}

export type WarmOutcome = 'refreshed' | 'fresh' | 'repaired' | 'failed';

export interface WarmTenantResult {
  tenant: string;
  outcome: WarmOutcome;
  /** Seconds the cached token has left after this run (absent when there is none). */
  remainingSeconds?: number;
  error?: string;
}

export interface WarmSummary {
  refreshed: number;
  fresh: number;
  repaired: number;
  failed: number;
  tenants: WarmTenantResult[];
}

const noop = (): void => {};

/** The later-obtained of two tokens (either may be missing). */
function newest(a: CachedToken | undefined, b: CachedToken | undefined): CachedToken | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b.obtained_at) > Date.parse(a.obtained_at) ? b : a;
}

export class TokenMintingService implements TokenMinter {
  private readonly settings: MinterSettings;
  /** Single-flight per tenant inside this process. */
  private readonly inflight = new Map<string, { promise: Promise<MintResult>; plain: boolean }>();
  /** The last token minted per tenant, kept to repair the store when a write failed. */
  private readonly lastMinted = new Map<string, CachedToken>();

  constructor(private readonly deps: MinterDependencies) {
    this.settings = { ...DEFAULT_MINTER_SETTINGS, ...deps.settings };
  }

  async mint(request: MintRequest): Promise<MintResult> {
    return this.singleFlight(request, 0);
  }

  /**
   * Concurrent plain requests for one tenant share one mint. A request that needs something
   * specific (forced, replacing a token Epic rejected, or the warmer's `replaceBelowMs`: replace a
   * stored token with less than this left even though readers could still use it) never takes
   * another request's answer: it waits for the running mint, then decides for itself.
   */
  private singleFlight(request: MintRequest, replaceBelowMs: number): Promise<MintResult> {
    const { tenant } = request;
    this.deps.tenants.get(tenant);
    const plain = !request.force && request.rejectedTokenSha256 === undefined && replaceBelowMs === 0;
    const running = this.inflight.get(tenant);
    if (running && plain && running.plain) return running.promise;
    const previous = running ? running.promise.then(noop, noop) : Promise.resolve();
    const promise: Promise<MintResult> = previous
      .then(() => this.mintOnce(request, replaceBelowMs))
      .finally(() => {
        if (this.inflight.get(tenant)?.promise === promise) this.inflight.delete(tenant);
      });
    this.inflight.set(tenant, { promise, plain });
    return promise;
  }

  /** Refreshes every tenant whose token has less than the configured fraction of its lifetime left. */
  async warm(): Promise<WarmSummary> {
    const ids = this.deps.tenants.ids();
    const results: WarmTenantResult[] = new Array(ids.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < ids.length; i = next++) {
        results[i] = await this.warmTenant(ids[i]!);
      }
    };
    const concurrency = Math.max(1, Math.min(this.settings.warmConcurrency, ids.length));
    await Promise.all(Array.from({ length: concurrency }, worker));
    const count = (o: WarmOutcome) => results.filter((r) => r.outcome === o).length;
    const summary: WarmSummary = {
      refreshed: count('refreshed'),
      fresh: count('fresh'),
      repaired: count('repaired'),
      failed: count('failed'),
      tenants: results,
    };
    this.deps.logger.info('WARMER_COMPLETED', {
      refreshed: summary.refreshed,
      fresh: summary.fresh,
      repaired: summary.repaired,
      failed: summary.failed,
    });
    return summary;
  }

  private async warmTenant(tenant: string): Promise<WarmTenantResult> {
    const { clock, metrics, logger } = this.deps;
    try {
      const stored = await this.readStore(tenant);
      let outcome: WarmOutcome;
      let token: CachedToken;
      const remembered = this.lastMinted.get(tenant);
      if (stored && !this.needsWarming(stored)) {
        outcome = 'fresh';
        token = stored;
      } else if (
        remembered &&
        remembered.access_token !== stored?.access_token &&
        !this.needsWarming(remembered)
      ) {
        // A mint succeeded but its store write failed: write the token we already have.
        await this.deps.store.write(remembered);
        logger.info('TOKEN_CACHE_REPAIRED', { tenant, expiresAt: remembered.expires_at });
        outcome = 'repaired';
        token = remembered;
      } else {
        token = (await this.singleFlight({ tenant, force: false }, this.warmThresholdMs(stored))).token;
        outcome = 'refreshed';
      }
      const remainingSeconds = Math.floor(msUntilExpiry(token, clock.now()) / 1000);
      metrics.gauge(METRIC.tokenRemainingSeconds, 'Seconds', remainingSeconds, { tenant });
      return { tenant, outcome, remainingSeconds };
    } catch (error) {
      const code = error instanceof AppError ? error.code : 'internal_error';
      metrics.count(METRIC.warmerTenantFailed, { tenant });
      logger.error('WARMER_TENANT_FAILED', { tenant, errorCode: code, errorName: (error as Error).name });
      return { tenant, outcome: 'failed', error: code };
    }
  }

  private warmThresholdMs(token: CachedToken | undefined): number {
    return token ? (2 * this.settings.warmerIntervalSeconds + this.settings.safetyMarginSeconds) * 1000 : 0;
  }

  private needsWarming(token: CachedToken): boolean {
    return msUntilExpiry(token, this.deps.clock.now()) < this.warmThresholdMs(token);
  }

  /** Writes the store; a failure is logged and tolerated (the token stays in `lastMinted`). */
  private async writeStore(token: CachedToken, successCode: string | undefined): Promise<boolean> {
    try {
      await this.deps.store.write(token);
      if (successCode)
        this.deps.logger.info(successCode, { tenant: token.tenant, expiresAt: token.expires_at });
      return true;
    } catch (error) {
      this.deps.logger.error('TOKEN_CACHE_WRITE_FAILED', {
        tenant: token.tenant,
        errorCode: error instanceof AppError ? error.code : 'unknown',
        errorName: (error as Error).name,
      });
      return false;
    }
  }

  private async readStore(tenant: string): Promise<CachedToken | undefined> {
    try {
      return await this.deps.store.read(tenant);
    } catch (error) {
      // Minting must not depend on the cache being readable: log and mint.
      this.deps.logger.warn('TOKEN_CACHE_READ_FAILED', {
        tenant,
        errorCode: error instanceof AppError ? error.code : 'unknown',
      });
      return undefined;
    }
  }

  private async mintOnce(request: MintRequest, replaceBelowMs: number): Promise<MintResult> {
    const { clock, logger, metrics } = this.deps;
    const { tenant } = request;
    const marginMs = Math.max(this.settings.safetyMarginSeconds * 1000, replaceBelowMs);
    const stored = await this.readStore(tenant);
    // The newest token known: the store's, or this minter's own when writing it to the store failed.
    const known = newest(stored, this.lastMinted.get(tenant));
    const rejected = known !== undefined && isRejected(known, request.rejectedTokenSha256);

    if (known && !rejected && !request.force && isUsable(known, clock.now(), marginMs)) {
      if (known !== stored) await this.writeStore(known, 'TOKEN_CACHE_REPAIRED');
      return { token: known, minted: false };
    }
    if (request.force && known && !rejected) {
      const ageMs = clock.now() - Date.parse(known.obtained_at);
      const minMs = this.settings.forceMinIntervalSeconds * 1000;
      if (ageMs >= 0 && ageMs < minMs) {
        const retryAfterSeconds = Math.ceil((minMs - ageMs) / 1000);
        throw new RateLimitedError(
          'refresh_rate_limited',
          `A token for tenant "${tenant}" was minted ${Math.floor(ageMs / 1000)} s ago; forced refreshes are allowed once every ${this.settings.forceMinIntervalSeconds} s. Retry after ${retryAfterSeconds} s, or call without "force" to get the current token.`,
          retryAfterSeconds,
          { tenant },
        );
      }
    }

    const tenantConfig = this.deps.tenants.get(tenant);
    let token: CachedToken;
    try {
      const tokenUrl = await this.deps.tokenUrls.tokenUrl(tenantConfig);
      token = await requestAccessToken(
        { tenant, tokenUrl, ...(tenantConfig.scope ? { scope: tenantConfig.scope } : {}) },
        this.deps,
        this.settings.tokenClient,
      );
    } catch (error) {
      metrics.count(METRIC.tokenMintFailed, { tenant });
      logger.error('TOKEN_MINT_FAILED', {
        tenant,
        errorCode: error instanceof AppError ? error.code : 'internal_error',
        errorName: (error as Error).name,
        ...(error instanceof AppError ? { details: error.details } : {}),
      });
      throw error;
    }
    this.lastMinted.set(tenant, token);
    metrics.count(METRIC.tokenMinted, { tenant });
    logger.info('TOKEN_MINTED', {
      tenant,
      force: request.force,
      expiresAt: token.expires_at,
      kid: token.kid,
    });
    // The token is good even if the write fails: it is handed out, and written again later (repair).
    await this.writeStore(token, undefined);
    return { token, minted: true };
  }
}
