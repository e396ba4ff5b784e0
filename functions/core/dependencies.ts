import type { Clock, Sleep } from './clock.js';
import type { TenantRegistry } from './config/tenants.js';
import type { AppLogger, AppMetrics } from './observability/powertools.js';
import type { TokenProvider } from './tokens/types.js';

/** The HTTP client core code uses (global fetch in production; tests may wrap it). */
export type FetchFn = typeof fetch;

/**
 * What every token *reader* (find-slots, refresh route, preflight) receives. Built once per Lambda
 * container by `functions/lambda/dependencies.ts` from the environment, and by the local runtime
 * (`local/runtime/app.ts`) from local settings, so handlers and core code are shared unchanged.
 */
export interface ReaderDependencies {
  /** This environment's Epic client id, sent as `Epic-Client-ID` on FHIR calls. */
  clientId: string;
  tenants: TenantRegistry;
  tokens: TokenProvider;
  fetch: FetchFn;
  clock: Clock;
  sleep: Sleep;
  random: () => number;
  logger: AppLogger;
  metrics: AppMetrics;
}
