import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ReaderDependencies } from '../core/dependencies.js';
import { type FindSlotsOptions, findSlots } from '../core/scheduling/find-slots.js';
import { createProviderCache } from '../core/scheduling/provider-resolution.js';
import { validateFindSlotsRequest } from '../core/scheduling/validate-request.js';
import { readerDependencies } from '../lambda/dependencies.js';
import { apiHandler, jsonResponse, parseJsonObjectBody } from '../lambda/http.js';

/** A find-slots body never needs more than this; larger ones are refused with 413 before parsing. */
export const FIND_SLOTS_MAX_BODY_BYTES = 8 * 1024;

/**
 * `POST /epic/find-slots`: parse and validate the body (nothing reaches Epic before that passes),
 * find the slots, map. One provider-resolution cache per handler (per container).
 */
export function createFindSlotsHandler(
  deps: ReaderDependencies,
  options: Omit<FindSlotsOptions, 'providerCache'> = {},
) {
  const providerCache = createProviderCache(deps.clock);
  return apiHandler('POST /epic/find-slots', deps.logger, async (event: APIGatewayProxyEvent) => {
    const request = validateFindSlotsRequest(
      parseJsonObjectBody(event, FIND_SLOTS_MAX_BODY_BYTES),
      deps.tenants,
    );
    const body = await findSlots(request, deps, { ...options, providerCache });
    return jsonResponse(200, body, { 'Cache-Control': 'no-store' });
  });
}

let built: ReturnType<typeof createFindSlotsHandler> | undefined;

export const handler: ReturnType<typeof createFindSlotsHandler> = ((event, context) => {
  built ??= createFindSlotsHandler(readerDependencies());
  return built(event, context);
}) as ReturnType<typeof createFindSlotsHandler>;
