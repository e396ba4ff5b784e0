import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { ReaderDependencies } from '../core/dependencies.js';
import type { TokenUrlResolver } from '../core/epic/smart-configuration.js';
import { InvalidInputError } from '../core/errors/app-error.js';
import { runPreflight } from '../core/preflight/run-preflight.js';
import { preflightDependencies } from '../lambda/dependencies.js';
import { apiHandler, jsonResponse, parseJsonObjectBody, publicBaseUrl } from '../lambda/http.js';

/** `POST /epic/preflight` (IAM): `{"tenant": "<id>"}` -> the preflight report of API.md. */
export interface PreflightHandlerDependencies {
  reader: ReaderDependencies;
  tokenUrls: TokenUrlResolver;
  activeKid: () => Promise<string>;
  /** Our public JWK Set URL; unset = `<base URL the request reached>/epic/oauth`. */
  jwksUrl?: string;
  /** Custom domain base URL (PUBLIC_BASE_URL), used when jwksUrl is unset. */
  publicBaseUrl?: string;
}

export function parsePreflightRequest(body: Record<string, unknown>): { tenant: string } {
  for (const key of Object.keys(body)) {
    if (key !== 'tenant')
      throw new InvalidInputError(key, `Unknown field "${key}"; send only {"tenant": "<id>"}.`);
  }
  if (typeof body.tenant !== 'string' || body.tenant.length === 0 || body.tenant.length > 40) {
    throw new InvalidInputError('tenant', 'Send {"tenant": "<id>"} with a configured tenant id.');
  }
  return { tenant: body.tenant };
}

export function createPreflightHandler(deps: PreflightHandlerDependencies) {
  return apiHandler(
    'POST /epic/preflight',
    deps.reader.logger,
    async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
      const { tenant } = parsePreflightRequest(parseJsonObjectBody(event));
      const jwksUrl = deps.jwksUrl ?? `${publicBaseUrl(event, deps.publicBaseUrl)}/epic/oauth`;
      const report = await runPreflight(tenant, {
        reader: deps.reader,
        tokenUrls: deps.tokenUrls,
        activeKid: deps.activeKid,
        jwksUrl,
      });
      return jsonResponse(200, report, { 'Cache-Control': 'no-store' });
    },
  );
}

let cached: ReturnType<typeof createPreflightHandler> | undefined;

/**
 * The Lambda entry point. Needs the reader environment (functions/lambda/config.ts), plus
 * SIGNING_KEYS_JSON (to name the active key; kms:GetPublicKey only) and optional PUBLIC_BASE_URL.
 */
export const handler = (event: APIGatewayProxyEvent, context: Context) => {
  cached ??= createPreflightHandler(preflightDependencies());
  return cached(event, context);
};
