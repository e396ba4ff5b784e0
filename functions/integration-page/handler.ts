import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { AppError } from '../core/errors/app-error.js';
import { CAPABILITIES, type Capability } from '../core/integration/capabilities.js';
import { EPIC_API_MANIFEST, type EpicApi } from '../core/integration/epic-api-manifest.js';
import {
  type EpicEnvironment,
  integrationPageContentSecurityPolicy,
  renderIntegrationPage,
} from '../core/integration/render-page.js';
import { type AppLogger, logger as powertoolsLogger } from '../core/observability/powertools.js';
import { EnvReader } from '../lambda/config.js';
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
  const reader = new EnvReader(env);
  const environment = reader.string('EPIC_ENVIRONMENT');
  if (environment !== '' && environment !== 'nonprod' && environment !== 'prod') {
    reader.problems.push(
      `EPIC_ENVIRONMENT: must be "nonprod" or "prod" (got ${JSON.stringify(environment)})`,
    );
  }
  const nonprod = clientId(reader, 'EPIC_CLIENT_ID_NONPROD', 'nonprod');
  const prod = clientId(reader, 'EPIC_CLIENT_ID_PROD', 'prod');
  const base = reader.optionalString('PUBLIC_BASE_URL');
  if (base !== undefined && !/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(base)) {
    reader.problems.push(
      `PUBLIC_BASE_URL: must be an https:// base URL without query or fragment (got "${base}")`,
    );
  }
  reader.done('integration page environment');
  if (nonprod === undefined || prod === undefined) throw new Error('unreachable: done() reported them');
  return {
    environment: environment as EpicEnvironment,
    clientIds: { nonprod, prod },
    ...(base ? { publicBaseUrl: base } : {}),
  };
}

/** A required client id; undefined (with the problem recorded) when missing or malformed. */
function clientId(reader: EnvReader, name: string, environment: EpicEnvironment): string | undefined {
  const value = reader.optionalString(name);
  if (value === undefined) {
    reader.problems.push(`${name}: required (the Epic client id registered for ${environment})`);
    return undefined;
  }
  if (!CLIENT_ID.test(value)) {
    reader.problems.push(
      `${name}: must be the Epic client id registered for ${environment} (letters, digits, dashes)`,
    );
    return undefined;
  }
  return value;
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
