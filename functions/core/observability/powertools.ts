import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Powertools built once per container and shared. Log lines carry a stable message code (e.g.
 * `TOKEN_MINTED`) and structured fields. Never log a token, an assertion, an Authorization header or
 * patient data: tests capture every line and fail when one appears.
 */
export const SERVICE_NAME = 'epic-integration';

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME,
  logLevel: (process.env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO',
});

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'EpicIntegration',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME,
});

export type AppLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** The metrics surface core code uses, so tests can pass a recorder. */
export interface AppMetrics {
  count(name: string, dimensions?: Record<string, string>, value?: number): void;
  /** A point-in-time value, e.g. TokenRemainingSeconds. */
  gauge(
    name: string,
    unit: 'Seconds' | 'Milliseconds' | 'Count',
    value: number,
    dimensions?: Record<string, string>,
  ): void;
}

/**
 * Metric names (namespace EpicIntegration; Powertools adds the `service` dimension). Alarms in
 * infra/ are built on these names, so treat them as a contract.
 */
export const METRIC = {
  tokenMinted: 'TokenMinted',
  tokenMintFailed: 'TokenMintFailed',
  epicTokenError: 'EpicTokenError',
  tokenCacheHit: 'TokenCacheHit',
  tokenCacheMiss: 'TokenCacheMiss',
  warmerTenantFailed: 'WarmerTenantFailed',
  tokenRemainingSeconds: 'TokenRemainingSeconds',
} as const;

/** Adapts Powertools Metrics: one single-metric EMF line per dimensioned count. */
export const powertoolsMetrics: AppMetrics = {
  count(name, dimensions = {}, value = 1) {
    const single = metrics.singleMetric();
    for (const [k, v] of Object.entries(dimensions)) single.addDimension(k, v);
    single.addMetric(name, 'Count', value);
  },
  gauge(name, unit, value, dimensions = {}) {
    const single = metrics.singleMetric();
    for (const [k, v] of Object.entries(dimensions)) single.addDimension(k, v);
    single.addMetric(name, unit, value);
  },
};

export const noopMetrics: AppMetrics = { count() {}, gauge() {} };
