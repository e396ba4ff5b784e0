import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { AppError, InvalidInputError } from '../core/errors/app-error.js';
import { toHttpError } from '../core/errors/http-status.js';
import type { AppLogger } from '../core/observability/powertools.js';

/**
 * Lambda glue shared by the API Gateway handlers: JSON body parsing with limits, JSON responses,
 * and the one error middleware that maps AppError codes to HTTP (errors/http-status.ts).
 * Core modules never import this file.
 */
export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** Bodies larger than this are refused with 413 before parsing (API Gateway also caps them). */
export const MAX_JSON_BODY_BYTES = 16 * 1024;

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (k.toLowerCase() === wanted && v !== undefined) return v;
  }
  return undefined;
}

/** Parses a JSON object body; 415 for another media type, 413 when too large, 400 when not JSON. */
export function parseJsonObjectBody(
  event: APIGatewayProxyEvent,
  maxBytes = MAX_JSON_BODY_BYTES,
): Record<string, unknown> {
  const contentType = header(event, 'content-type');
  if (contentType !== undefined && !/^application\/(json|[a-z.+-]*\+json)\s*(;|$)/i.test(contentType)) {
    throw new AppError(
      'unsupported_media_type',
      `Send the body as JSON with "Content-Type: application/json".`,
      {
        details: { field: 'Content-Type', received: contentType.slice(0, 100) },
      },
    );
  }
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new AppError(
      'body_too_large',
      `The request body is larger than ${maxBytes} bytes; send only the documented fields.`,
      {
        details: { field: 'body', maxBytes },
      },
    );
  }
  if (text.trim() === '') {
    throw new AppError('invalid_json', 'The request body is empty; send a JSON object.', {
      details: { field: 'body' },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('invalid_json', 'The request body is not valid JSON; send a JSON object.', {
      details: { field: 'body' },
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError('body', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * The base URL callers reached us at, e.g. https://api.example.com or
 * https://abc.execute-api.eu-west-2.amazonaws.com/prod. PUBLIC_BASE_URL (custom domain) wins.
 */
export function publicBaseUrl(event: APIGatewayProxyEvent, configured: string | undefined): string {
  if (configured) return configured.replace(/\/+$/, '');
  const host = event.requestContext?.domainName ?? header(event, 'host') ?? 'localhost';
  const proto = header(event, 'x-forwarded-proto') ?? (/^(127\.|localhost)/.test(host) ? 'http' : 'https');
  const stage = event.requestContext?.stage;
  const onDefaultDomain = /\.execute-api\./.test(host);
  const stagePath = onDefaultDomain && stage && stage !== '$default' ? `/${stage}` : '';
  return `${proto}://${host}${stagePath}`;
}

/**
 * Wraps a handler in middy with the error mapping: AppErrors with a known code become their
 * status and body; anything else is a 500 with a generic body. Logs a stable code, never bodies.
 */
export function apiHandler(route: string, logger: AppLogger, fn: ApiHandler) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .onError(async (request) => {
      const mapped = toHttpError(request.error);
      const error = request.error;
      const fields = {
        route,
        status: mapped.statusCode,
        errorCode: mapped.body.error,
        errorName: error instanceof Error ? error.name : typeof error,
      };
      if (mapped.statusCode >= 500) {
        logger.error('REQUEST_FAILED', {
          ...fields,
          ...(error instanceof AppError ? { details: error.details } : {}),
          ...(error instanceof Error && !(error instanceof AppError) ? { errorMessage: error.message } : {}),
        });
      } else {
        logger.info('REQUEST_REJECTED', { ...fields, field: (error as AppError).details?.field });
      }
      request.response = {
        statusCode: mapped.statusCode,
        headers: mapped.headers,
        body: JSON.stringify(mapped.body),
      };
    })
    .handler(fn);
}
