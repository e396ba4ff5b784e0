import { systemClock } from '../../../../functions/core/clock.js';
import {
  parseTenantsFile,
  type TenantConfig,
  TenantRegistry,
} from '../../../../functions/core/config/tenants.js';
import type { ReaderDependencies } from '../../../../functions/core/dependencies.js';
import type { AppLogger, AppMetrics } from '../../../../functions/core/observability/powertools.js';
import type { CachedToken, ProvidedToken, TokenProvider } from '../../../../functions/core/tokens/types.js';

export const CLIENT_ID = '87b94317-7a53-4a96-8a89-998bd31f3ade';
export const SERVICE_TYPE_SYSTEM = 'urn:oid:1.2.840.114350.1.13.0.1.7.3.808267.11';

/** A TokenProvider that hands out `test-token-1`, `test-token-2`, ... and records invalidations. */
export class FakeTokens implements TokenProvider {
  issued = 0;
  current: string | undefined;
  invalidated: Array<{ tenant: string; token: string }> = [];
  getTokenCalls = 0;

  async getToken(tenant: string): Promise<ProvidedToken> {
    this.getTokenCalls += 1;
    if (this.current === undefined) {
      this.issued += 1;
      this.current = `test-token-${this.issued}-SECRETVALUE`;
    }
    return { token: this.tokenFor(tenant, this.current), source: 'memory', refreshed: false };
  }

  async forceRefresh(tenant: string): Promise<ProvidedToken> {
    this.current = undefined;
    return this.getToken(tenant);
  }

  invalidate(tenant: string, rejectedAccessToken: string): void {
    this.invalidated.push({ tenant, token: rejectedAccessToken });
    if (this.current === rejectedAccessToken) this.current = undefined;
  }

  private tokenFor(tenant: string, accessToken: string): CachedToken {
    return {
      tenant,
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 3600,
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      obtained_at: new Date().toISOString(),
    };
  }
}

export interface LogLine {
  level: string;
  message: string;
  fields: unknown;
}

export function recordingLogger(lines: LogLine[]): AppLogger {
  const at =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) => {
      lines.push({ level, message: String(message), fields: rest });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  } as unknown as AppLogger;
}

export const recordingMetrics = (names: string[]): AppMetrics => ({
  count: (name) => names.push(name),
  gauge: (name) => names.push(name),
});

export function tenantConfig(
  baseUrl: string,
  overrides: { id?: string; providerBasedScheduling?: boolean } = {},
): TenantConfig {
  const id = overrides.id ?? 'sandbox';
  const file = parseTenantsFile({
    tenants: [
      {
        id,
        name: 'Test Epic',
        fhirBaseUrl: `${baseUrl}/${id}/api/FHIR/R4`,
        tokenUrl: `${baseUrl}/${id}/oauth2/token`,
        scheduling: {
          serviceTypeSystem: SERVICE_TYPE_SYSTEM,
          serviceTypes: [
            { code: '95014', display: 'Office Visit' },
            { code: '95015', display: 'New Patient Visit' },
          ],
          providerBasedScheduling: overrides.providerBasedScheduling ?? false,
        },
      },
    ],
  });
  return file.tenants[0]!;
}

export interface TestDeps extends ReaderDependencies {
  tokens: FakeTokens;
  logLines: LogLine[];
  metricNames: string[];
  sleeps: number[];
}

export function testDeps(tenants: TenantConfig[], overrides: Partial<ReaderDependencies> = {}): TestDeps {
  const logLines: LogLine[] = [];
  const metricNames: string[] = [];
  const sleeps: number[] = [];
  return {
    clientId: CLIENT_ID,
    tenants: new TenantRegistry(tenants),
    tokens: new FakeTokens(),
    fetch: globalThis.fetch,
    clock: systemClock,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    logger: recordingLogger(logLines),
    metrics: recordingMetrics(metricNames),
    logLines,
    metricNames,
    sleeps,
    ...overrides,
  } as TestDeps;
}
