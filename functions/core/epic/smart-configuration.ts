import type { Clock } from '../clock.js';
import type { TenantConfig } from '../config/tenants.js';
import { EpicTimeoutError, EpicUnavailableError } from '../errors/app-error.js';
import { fetchText, networkErrorName, TimeoutError } from '../http/retry.js';
import type { AppLogger } from '../observability/powertools.js';
import { isHttpsOrLoopbackHttp, parseJsonOrUndefined } from '../values.js';

/**
 * Token URL per tenant: the configured `tokenUrl`, else `token_endpoint` from
 * `<fhirBaseUrl>/.well-known/smart-configuration` (EPIC.md, "Endpoints"), cached per container.
 */
export interface TokenUrlResolver {
  tokenUrl(tenant: TenantConfig): Promise<string>;
}

const DISCOVERY_TTL_MS = 6 * 60 * 60 * 1000;

function isAcceptableEndpoint(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return isHttpsOrLoopbackHttp(new URL(value));
  } catch {
    return false;
  }
}

export function smartConfigurationUrl(tenant: TenantConfig): string {
  return `${tenant.fhirBaseUrl}/.well-known/smart-configuration`;
}

export function createTokenUrlResolver(deps: {
  fetch: typeof fetch;
  clock: Clock;
  logger: AppLogger;
  timeoutMs?: number;
}): TokenUrlResolver {
  const cache = new Map<string, { url: string; until: number }>();
  const inflight = new Map<string, Promise<string>>();

  async function discover(tenant: TenantConfig): Promise<string> {
    const url = smartConfigurationUrl(tenant);
    let response: Awaited<ReturnType<typeof fetchText>>;
    try {
      response = await fetchText(
        deps.fetch,
        url,
        { headers: { Accept: 'application/json' } },
        deps.timeoutMs ?? 3_000,
      );
    } catch (error) {
      if (error instanceof TimeoutError) {
        throw new EpicTimeoutError(`the SMART configuration request for tenant "${tenant.id}"`, {
          tenant: tenant.id,
          url,
        });
      }
      throw new EpicUnavailableError(
        'epic_discovery_failed',
        `Could not reach ${url} to discover tenant "${tenant.id}"'s token endpoint (${networkErrorName(error)}). Set "tokenUrl" in the tenant's config or check the FHIR base URL.`,
        { details: { tenant: tenant.id, url } },
      );
    }
    const body = parseJsonOrUndefined(response.text);
    const endpoint = (body as { token_endpoint?: unknown } | undefined)?.token_endpoint;
    if (response.status !== 200 || !isAcceptableEndpoint(endpoint)) {
      throw new EpicUnavailableError(
        'epic_discovery_failed',
        `${url} answered HTTP ${response.status} without a usable token_endpoint. Set "tokenUrl" in tenant "${tenant.id}"'s config or check its FHIR base URL.`,
        { details: { tenant: tenant.id, url, status: response.status } },
      );
    }
    deps.logger.info('TOKEN_URL_DISCOVERED', { tenant: tenant.id, tokenUrl: endpoint });
    return endpoint;
  }

  return {
    async tokenUrl(tenant) {
      if (tenant.tokenUrl) return tenant.tokenUrl;
      const hit = cache.get(tenant.id);
      if (hit && hit.until > deps.clock.now()) return hit.url;
      const running = inflight.get(tenant.id);
      if (running) return running;
      const promise = discover(tenant)
        .then((url) => {
          cache.set(tenant.id, { url, until: deps.clock.now() + DISCOVERY_TTL_MS });
          return url;
        })
        .finally(() => inflight.delete(tenant.id));
      inflight.set(tenant.id, promise);
      return promise;
    },
  };
}
