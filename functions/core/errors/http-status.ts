import { AppError } from './app-error.js';

/**
 * The single table from stable error code to HTTP status. A code not listed is a 500 whose message
 * is replaced by a generic one, so internals never leak.
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  invalid_input: 400,
  invalid_json: 400,
  body_too_large: 413,
  unsupported_media_type: 415,
  not_found: 404,
  method_not_allowed: 405,
  unknown_tenant: 404,
  provider_not_found: 404,
  ambiguous_provider: 409,
  refresh_rate_limited: 429,
  epic_token_rejected: 502,
  epic_unavailable: 502,
  epic_rate_limited: 502,
  epic_bad_response: 502,
  epic_fhir_error: 502,
  epic_api_not_enabled: 502,
  epic_token_revoked: 502,
  epic_discovery_failed: 502,
  token_unavailable: 503,
  signing_unavailable: 503,
  token_store_unavailable: 503,
  epic_timeout: 504,
};

export interface HttpErrorResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: { error: string; message: string; details: Record<string, unknown> };
}

export function toHttpError(error: unknown): HttpErrorResponse {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
  };
  if (error instanceof AppError) {
    const statusCode = HTTP_STATUS_BY_CODE[error.code];
    if (statusCode !== undefined) {
      const retryAfter = error.details.retryAfterSeconds;
      if (typeof retryAfter === 'number') headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfter)));
      return { statusCode, headers, body: error.toJSON() };
    }
  }
  return {
    statusCode: 500,
    headers,
    body: {
      error: 'internal_error',
      message:
        'An unexpected error occurred. It has been logged; retry later or contact the on-call engineer.',
      details: {},
    },
  };
}
