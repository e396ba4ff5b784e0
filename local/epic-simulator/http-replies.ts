/**
 * What the simulator answers, as plain values (`Reply`), and how a reply is written. Every FHIR
 * error is an OperationOutcome; every token error is Epic's bare OAuth `{"error": ...}`.
 */
import type { ServerResponse } from 'node:http';
import type { Fault, FaultTarget } from './faults.js';
import { type IssueType, operationOutcome } from './operation-outcome.js';
import type { OAuthErrorCode } from './token-endpoint.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';
export const OAUTH_JSON = 'application/json;charset=UTF-8';
/** Simulator-specific header carrying why a token request was refused (Epic sends no reason). */
export const REASON_HEADER = 'x-epic-simulator-reason';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function jsonReply(
  status: number,
  body: unknown,
  contentType: string,
  headers: Record<string, string> = {},
): Reply {
  return { status, headers: { 'content-type': contentType, ...headers }, body: JSON.stringify(body) };
}

export function fhirReply(status: number, code: IssueType, diagnostics: string): Reply {
  return jsonReply(status, operationOutcome(code, diagnostics), FHIR_JSON);
}

/** 401 with `WWW-Authenticate: Bearer error="invalid_token"` and an OperationOutcome. */
export function unauthorizedReply(diagnostics: string): Reply {
  return withHeaders(fhirReply(401, 'login', diagnostics), {
    'www-authenticate': 'Bearer error="invalid_token"',
  });
}

/**
 * HTTP 400 with only the OAuth `error`, as Epic answers (usually without a description). The reason
 * travels in the {@link REASON_HEADER} header, for whoever debugs a test.
 */
export function oauthErrorReply(error: OAuthErrorCode, reason: string): Reply {
  return jsonReply(400, { error }, OAUTH_JSON, {
    'cache-control': 'no-store',
    pragma: 'no-cache',
    [REASON_HEADER]: reason.replace(/[^\x20-\x7e]/g, '?'),
  });
}

export function withHeaders(reply: Reply, headers: Record<string, string>): Reply {
  return { ...reply, headers: { ...reply.headers, ...headers } };
}

/** The answer of an armed fault that answers (not `drop`, not `slow`). */
export function faultReply(fault: Exclude<Fault, { kind: 'drop' | 'slow' }>, target: FaultTarget): Reply {
  switch (fault.kind) {
    case 'status': {
      const retryAfter: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      if (fault.body !== undefined) {
        return {
          status: fault.status,
          headers: { 'content-type': sniffType(fault.body), ...retryAfter },
          body: fault.body,
        };
      }
      const reply =
        target === 'token'
          ? jsonReply(fault.status, { error: 'server_error' }, OAUTH_JSON)
          : fhirReply(
              fault.status,
              fault.status === 429 ? 'throttled' : 'transient',
              `Injected HTTP ${fault.status}`,
            );
      return withHeaders(reply, retryAfter);
    }
    case 'malformed':
      return target === 'token'
        ? { status: 200, headers: { 'content-type': OAUTH_JSON }, body: '{"access_token": "tr' }
        : {
            status: 200,
            headers: { 'content-type': FHIR_JSON },
            body: '{"resourceType": "Bundle", "entry": [',
          };
    case 'oauth-error':
      return oauthErrorReply(fault.error, 'injected oauth-error fault');
    case 'non-fhir':
      return {
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Sign in</h1></body></html>',
      };
  }
}

function sniffType(body: string): string {
  try {
    JSON.parse(body);
    return 'application/json';
  } catch {
    return 'text/plain; charset=utf-8';
  }
}

export function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}
