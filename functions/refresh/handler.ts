import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ReaderDependencies } from '../core/dependencies.js';
import { parseRefreshRequest, refreshToken } from '../core/tokens/refresh.js';
import { readerDependencies } from '../lambda/dependencies.js';
import { apiHandler, jsonResponse, parseJsonObjectBody } from '../lambda/http.js';

/** `POST /epic/oauth/refresh`: validate, get a token (memory, store, minter), map. */
export function createRefreshHandler(deps: ReaderDependencies) {
  return apiHandler('POST /epic/oauth/refresh', deps.logger, async (event: APIGatewayProxyEvent) => {
    const request = parseRefreshRequest(parseJsonObjectBody(event), deps.tenants);
    const body = await refreshToken(request, deps);
    deps.logger.info('TOKEN_HANDED_OUT', {
      tenant: request.tenant,
      force: request.force,
      refreshed: body.refreshed,
    });
    return jsonResponse(200, body, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  });
}

let built: ReturnType<typeof createRefreshHandler> | undefined;

export const handler: ReturnType<typeof createRefreshHandler> = ((event, context) => {
  built ??= createRefreshHandler(readerDependencies());
  return built(event, context);
}) as ReturnType<typeof createRefreshHandler>;
