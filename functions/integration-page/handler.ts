import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { AppError, ConfigError } from '../core/errors/app-error.js';
import { CAPABILITIES, type Capability } from '../core/integration/capabilities.js';
import { EPIC_API_MANIFEST, type EpicApi } from '../core/integration/epic-api-manifest.js';
import {
  type EpicEnvironment,
  integrationPageContentSecurityPolicy,
  renderIntegrationPage,
} from '../core/integration/render-page.js';
import { type AppLogger, logger as powertoolsLogger } from '../core/observability/powertools.js';
import { apiHandler, publicBaseUrl } from '../lambda/http.js';

/** `GET /epic`: the integration page. Public, no token, no Epic call. */
export interface IntegrationPageConfig {
  environment: EpicEnvironment;
  clientIds: { nonprod: string; prod: string };
  /** Custom domain base URL (PUBLIC_BASE_URL); unset = the host the request reached. */
  publicBaseUrl?: string;
}

export interface IntegrationPageDependencies {
  config: IntegrationPageConfig;
  logger: AppLogger;
  manifest?: readonly EpicApi[];
  capabilities?: readonly Capability[];
}

/** The route paths the page points Epic to (API.md). */
export const JWKS_PATH = '/epic/oauth';
export const REFRESH_PATH = '/epic/oauth/refresh';

const CLIENT_ID = /^[A-Za-z0-9-]{8,100}$/;

/**
 * Reads the page's config from the Lambda environment: EPIC_ENVIRONMENT (`nonprod`|`prod`),
 * EPIC_CLIENT_ID_NONPROD, EPIC_CLIENT_ID_PROD, optional PUBLIC_BASE_URL. Every problem is reported
 * at once.
 */
export function integrationPageConfigFromEnv(env: NodeJS.ProcessEnv): IntegrationPageConfig {
  const problems: string[] = [];
  const environment = env.EPIC_ENVIRONMENT;
  if (environment !== 'nonprod' && environment !== 'prod') {
    problems.push(
      `EPIC_ENVIRONMENT: must be "nonprod" or "prod" (got ${JSON.stringify(environment ?? null)})`,
    );
  }
  const ids: Record<'nonprod' | 'prod', string> = { nonprod: '', prod: '' };
  for (const [key, name] of [
    ['nonprod', 'EPIC_CLIENT_ID_NONPROD'],
    ['prod', 'EPIC_CLIENT_ID_PROD'],
  ] as const) {
    const value = env[name];
    if (value === undefined || !CLIENT_ID.test(value)) {
      problems.push(`${name}: must be the Epic client id registered for ${key} (letters, digits, dashes)`);
    } else {
      ids[key] = value;
    }
  }
  const base = env.PUBLIC_BASE_URL;
  if (base !== undefined && base !== '' && !/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(base)) {
    problems.push(`PUBLIC_BASE_URL: must be an https:// base URL without query or fragment (got "${base}")`);
  }
  if (problems.length > 0) throw new ConfigError('integration page environment', problems);
  return {
    environment: environment as EpicEnvironment,
    clientIds: ids,
    ...(base ? { publicBaseUrl: base } : {}),
  };
}

export function integrationPageHeaders(): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': integrationPageContentSecurityPolicy(),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'public, max-age=300',
  };
}

export function createIntegrationPageHandler(deps: IntegrationPageDependencies) {
  const manifest = deps.manifest ?? EPIC_API_MANIFEST;
  const capabilities = deps.capabilities ?? CAPABILITIES;
  const headers = integrationPageHeaders();
  return apiHandler(
    'GET /epic',
    deps.logger,
    async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
      if (event.httpMethod !== 'GET' && event.httpMethod !== 'HEAD') {
        throw new AppError('method_not_allowed', 'Use GET to read the integration page.', {
          details: { allowed: ['GET', 'HEAD'] },
        });
      }
      const base = publicBaseUrl(event, deps.config.publicBaseUrl);
      const html = renderIntegrationPage({
        environment: deps.config.environment,
        clientIds: deps.config.clientIds,
        jwksUrl: `${base}${JWKS_PATH}`,
        refreshUrl: `${base}${REFRESH_PATH}`,
        manifest,
        capabilities,
      });
      return { statusCode: 200, headers, body: event.httpMethod === 'HEAD' ? '' : html };
    },
  );
}

let cached: ReturnType<typeof createIntegrationPageHandler> | undefined;

/** The Lambda entry point; config is read on first use and kept for the container's life. */
export const handler = (event: APIGatewayProxyEvent, context: Context) => {
  cached ??= createIntegrationPageHandler({
    config: integrationPageConfigFromEnv(process.env),
    logger: powertoolsLogger,
  });
  return cached(event, context);
};
