import { buildJwks } from '../core/keys/jwks.js';
import type { SigningKeys } from '../core/keys/types.js';
import type { AppLogger } from '../core/observability/powertools.js';
import { jwksDependencies } from '../lambda/dependencies.js';
import { apiHandler, jsonResponse } from '../lambda/http.js';

/** `GET /epic/oauth`: the public JWK Set (next + active keys), cacheable by Epic. */
export interface JwksDependencies {
  keys: SigningKeys;
  maxAgeSeconds: number;
  logger: AppLogger;
}

export function createJwksHandler(deps: JwksDependencies) {
  return apiHandler('GET /epic/oauth', deps.logger, async () => {
    const jwks = await buildJwks(deps.keys);
    return jsonResponse(200, jwks, { 'Cache-Control': `public, max-age=${deps.maxAgeSeconds}` });
  });
}

let built: ReturnType<typeof createJwksHandler> | undefined;

export const handler: ReturnType<typeof createJwksHandler> = ((event, context) => {
  built ??= createJwksHandler(jwksDependencies());
  return built(event, context);
}) as ReturnType<typeof createJwksHandler>;
