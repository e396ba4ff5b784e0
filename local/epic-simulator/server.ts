/**
 * The Epic sandbox simulator: several strict stand-ins for Epic organizations on one loopback port,
 * each under its own path prefix `/<orgId>`:
 *
 * - `POST /<org>/oauth2/token`: SMART Backend Services token endpoint that validates client
 *   assertions the way Epic does, fetching the client's JWK Set URL (see `token-endpoint.ts`).
 * - `GET  /<org>/api/FHIR/R4/.well-known/smart-configuration`: discovery (no auth).
 * - `GET  /<org>/api/FHIR/R4/Practitioner/<id>`, `GET /<org>/api/FHIR/R4/Practitioner?...` and
 *   `POST /<org>/api/FHIR/STU3/Appointment/$find`: bearer-token and `Epic-Client-ID` checks, then
 *   the organization's {@link FhirBackend}.
 *
 * Anything else is answered 404/405 and recorded in `stats(org).unexpected`, so a test that
 * expects none fails loudly. Faults can be injected per organization and target.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { type Clock, systemClock } from '../../functions/core/clock.js';
import type { Fault, FaultTarget } from './faults.js';
import type { FhirBackend, FhirRequestContext, FhirResponse } from './fhir-backend.js';
import { isLoopbackUrl } from './jwks-cache.js';
import { type IssueType, operationOutcome } from './operation-outcome.js';
import { OrganizationState, type SimulatorStats } from './organization.js';
import { ACCEPTED_ASSERTION_ALGS, decideTokenRequest, type OAuthErrorCode } from './token-endpoint.js';

export type { Fault, FaultTarget } from './faults.js';
export type { SimulatorStats } from './organization.js';

/** A backend app registered with an organization. */
export interface SimulatedClient {
  /** The client id (`iss` = `sub` of its assertions). */
  clientId: string;
  /** The registered JWK Set URL; must be a loopback http(s) URL (the simulator fetches nothing else). */
  jwksUrl: string;
  /** Whether the organization mapped the client to an Epic user. Default true; false -> `unauthorized_client`. */
  mappedToUser?: boolean;
}

/** One simulated Epic organization (health system). */
export interface SimulatedOrganization {
  /** Path prefix, `^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`, unique. */
  id: string;
  clients: SimulatedClient[];
  /** `expires_in` of issued tokens. Default 3600. */
  tokenLifetimeSeconds?: number;
  /** Serves Practitioner and Appointment.$find; without it those routes answer 404. */
  fhir?: FhirBackend;
}

export interface SimulatorOptions {
  /** Port on 127.0.0.1; default 0 (ephemeral). */
  port?: number;
  organizations: SimulatedOrganization[];
  /** Time for assertion claims, token expiry and JWK Set caching. Default: the system clock. */
  clock?: Clock;
  /** Used to fetch client JWK Sets (loopback only). Default: the global fetch. */
  fetch?: typeof fetch;
}

/** Absolute URLs of one organization. */
export interface SimulatorEndpoints {
  tokenUrl: string;
  r4Base: string;
  stu3Base: string;
  smartConfigurationUrl: string;
}

/** A running simulator. Every method taking `orgId` throws on an unknown organization. */
export interface EpicSimulator {
  /** `http://127.0.0.1:<port>` */
  url: string;
  endpoints(orgId: string): SimulatorEndpoints;
  /**
   * Arms (or, with `undefined`, clears) a fault for an organization's `token` endpoint or its
   * `fhir` data routes. It affects the next `fault.times` requests (default: all until cleared)
   * and takes precedence over normal handling; `slow` delays and then answers normally.
   */
  setFault(orgId: string, target: FaultTarget, fault: Fault | undefined): void;
  /** Every token issued so far by this organization gets 401 on FHIR calls from now on. */
  revokeTokens(orgId: string): void;
  /** `expires_in` (seconds, positive integer) for tokens issued from now on. */
  setTokenLifetime(orgId: string, seconds: number): void;
  /** A snapshot of the organization's counters. */
  stats(orgId: string): SimulatorStats;
  /** Resets every organization's counters (not faults, tokens or caches). */
  resetStats(): void;
  /** Stops listening, drops open connections and cancels pending `slow` faults. */
  close(): Promise<void>;
}

/** The system scope granted when the token request names none (Epic grants by the app's APIs). */
export const DEFAULT_GRANTED_SCOPE =
  'system/Practitioner.read system/Practitioner.search system/Appointment.read system/Appointment.search';

const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;
const MAX_BODY_BYTES = 1024 * 1024;
const ORG_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const OAUTH_JSON = 'application/json;charset=UTF-8';

type RouteKind =
  | 'token'
  | 'smart-configuration'
  | 'practitioner-search'
  | 'practitioner-read'
  | 'appointment-find';

interface Route {
  kind: RouteKind;
  /** The one method the route answers. */
  method: 'GET' | 'POST';
  /** Which fault slot applies (discovery has none). */
  target: FaultTarget | undefined;
  practitionerId?: string;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Starts a simulator listening on 127.0.0.1. */
export async function createEpicSimulator(options: SimulatorOptions): Promise<EpicSimulator> {
  const clock = options.clock ?? systemClock;
  const fetchImpl = options.fetch ?? fetch;
  validateOptions(options);

  const orgs = new Map<string, OrganizationState>();
  const sockets = new Set<Socket>();
  const closing = new AbortController();
  let baseUrl = '';

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      recordUnexpectedEverywhere(`${req.method} ${pathOf(req)} -> 500: simulator error ${errorName(error)}`);
      if (!res.headersSent) send(res, fhirReply(500, 'exception', 'Simulator internal error'));
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('simulator did not bind a TCP port');
  baseUrl = `http://127.0.0.1:${address.port}`;

  for (const org of options.organizations) {
    const clients = org.clients.map((client) => ({
      clientId: client.clientId,
      jwksUrl: client.jwksUrl,
      mappedToUser: client.mappedToUser ?? true,
    }));
    const lifetime = org.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
    orgs.set(
      org.id,
      new OrganizationState(
        org.id,
        clients,
        lifetime,
        org.fhir,
        endpointsFor(org.id).tokenUrl,
        clock,
        fetchImpl,
      ),
    );
  }

  function endpointsFor(orgId: string): SimulatorEndpoints {
    const r4Base = `${baseUrl}/${orgId}/api/FHIR/R4`;
    return {
      tokenUrl: `${baseUrl}/${orgId}/oauth2/token`,
      r4Base,
      stu3Base: `${baseUrl}/${orgId}/api/FHIR/STU3`,
      smartConfigurationUrl: `${r4Base}/.well-known/smart-configuration`,
    };
  }

  function orgOrThrow(orgId: string): OrganizationState {
    const org = orgs.get(orgId);
    if (org === undefined) throw new Error(`Unknown simulated organization "${orgId}"`);
    return org;
  }

  function recordUnexpectedEverywhere(line: string): void {
    for (const org of orgs.values()) org.stats.unexpected.push(line);
  }

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', baseUrl);
    const segments = decodeSegments(url.pathname);
    const org = segments === undefined ? undefined : orgs.get(segments[0] ?? '');
    if (segments === undefined || org === undefined) {
      recordUnexpectedEverywhere(`${method} ${url.pathname} -> 404: unknown organization`);
      return send(res, fhirReply(404, 'not-found', 'No simulated organization at this path'));
    }
    const route = matchRoute(segments.slice(1));
    if (route === undefined) {
      org.stats.unexpected.push(`${method} ${url.pathname} -> 404: no such Epic route`);
      return send(res, fhirReply(404, 'not-found', 'No Epic route at this path'));
    }
    countRequest(org, route);
    if (method !== route.method) {
      org.stats.unexpected.push(`${method} ${url.pathname} -> 405: only ${route.method}`);
      const reply =
        route.kind === 'token'
          ? oauthReply('invalid_request', `only ${route.method}`)
          : fhirReply(405, 'not-supported', `Only ${route.method} is supported here`);
      return send(res, { ...reply, status: 405, headers: { ...reply.headers, allow: route.method } });
    }

    const fault = route.target === undefined ? undefined : org.faults[route.target].take();
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      org.stats.unexpected.push(`${method} ${url.pathname} -> 413: body over ${MAX_BODY_BYTES} bytes`);
      return send(res, fhirReply(413, 'too-costly', 'Request body too large'), { close: true });
    }
    if (fault !== undefined && fault.kind !== 'slow') {
      return send(res, faultReply(fault, route.target ?? 'fhir'));
    }
    if (fault?.kind === 'slow') {
      try {
        await delay(fault.delayMs, undefined, { signal: closing.signal });
      } catch {
        res.destroy();
        return;
      }
      if (res.destroyed || req.socket.destroyed) return;
    }

    switch (route.kind) {
      case 'token':
        return send(res, await tokenReply(org, req.headers['content-type'], body));
      case 'smart-configuration':
        return send(res, jsonReply(200, smartConfiguration(org.id), 'application/json'));
      default:
        return send(res, fhirRouteReply(org, route, req, url, body));
    }
  }

  async function tokenReply(
    org: OrganizationState,
    contentType: string | undefined,
    body: string,
  ): Promise<Reply> {
    const decision = await decideTokenRequest(contentType, body, org.tokenEndpoint);
    if (!decision.ok) {
      org.stats.rejections.push({ error: decision.error, reason: decision.reason });
      return oauthReply(decision.error, decision.reason);
    }
    const { accessToken, expiresIn } = org.issueToken(decision.clientId);
    return jsonReply(
      200,
      {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: expiresIn,
        scope: decision.requestedScope ?? DEFAULT_GRANTED_SCOPE,
      },
      OAUTH_JSON,
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  }

  function fhirRouteReply(
    org: OrganizationState,
    route: Route,
    req: IncomingMessage,
    url: URL,
    body: string,
  ): Reply {
    const authorization = req.headers.authorization;
    const bearer =
      authorization === undefined ? undefined : /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization);
    if (bearer?.[1] === undefined) {
      return unauthorized('Authorization: Bearer <access token> is required');
    }
    const token = org.validToken(bearer[1]);
    if (token === undefined) {
      return unauthorized('The access token is invalid, expired or revoked');
    }
    const epicClientId = req.headers['epic-client-id'];
    if (typeof epicClientId !== 'string' || epicClientId === '') {
      return fhirReply(400, 'required', 'The Epic-Client-ID header is required');
    }
    if (epicClientId !== token.clientId) {
      return unauthorized('Epic-Client-ID is not the client the access token was issued to');
    }
    const backend = org.fhir;
    if (backend === undefined) {
      return fhirReply(404, 'not-found', 'This organization serves no FHIR resources');
    }
    const ends = endpointsFor(org.id);
    const ctx: FhirRequestContext = {
      orgId: org.id,
      r4Base: ends.r4Base,
      stu3Base: ends.stu3Base,
      now: clock.now(),
    };
    let response: FhirResponse;
    try {
      response = callBackend(backend, route, url, body, req.headers['content-type'], ctx);
    } catch (error) {
      if (error instanceof RequestProblem) return error.reply;
      org.stats.unexpected.push(
        `${req.method} ${url.pathname} -> 500: FhirBackend threw ${errorName(error)}`,
      );
      return fhirReply(500, 'exception', 'The FHIR backend failed');
    }
    return jsonReply(response.status, response.body, FHIR_JSON);
  }

  function smartConfiguration(orgId: string): Record<string, unknown> {
    const ends = endpointsFor(orgId);
    return {
      authorization_endpoint: `${baseUrl}/${orgId}/oauth2/authorize`,
      token_endpoint: ends.tokenUrl,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: [...ACCEPTED_ASSERTION_ALGS],
      grant_types_supported: [
        'authorization_code',
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
      ],
      scopes_supported: [
        'openid',
        'fhirUser',
        'launch',
        'system/Practitioner.read',
        'system/Appointment.read',
      ],
      response_types_supported: ['code'],
      capabilities: [
        'launch-ehr',
        'launch-standalone',
        'client-public',
        'client-confidential-symmetric',
        'client-confidential-asymmetric',
        'context-ehr-patient',
        'sso-openid-connect',
        'permission-v1',
        'permission-v2',
      ],
      code_challenge_methods_supported: ['S256'],
    };
  }

  return {
    url: baseUrl,
    endpoints: (orgId) => {
      orgOrThrow(orgId);
      return endpointsFor(orgId);
    },
    setFault: (orgId, target, fault) => orgOrThrow(orgId).faults[target].set(target, fault),
    revokeTokens: (orgId) => orgOrThrow(orgId).revokeTokens(),
    setTokenLifetime: (orgId, seconds) => {
      if (!Number.isInteger(seconds) || seconds < 1) {
        throw new RangeError(`Token lifetime must be a positive integer of seconds, got ${seconds}`);
      }
      orgOrThrow(orgId).tokenLifetimeSeconds = seconds;
    },
    stats: (orgId) => structuredClone(orgOrThrow(orgId).stats),
    resetStats: () => {
      for (const org of orgs.values()) org.resetStats();
    },
    close: async () => {
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** A request the route refuses before the backend sees it (415, malformed JSON). */
class RequestProblem extends Error {
  constructor(readonly reply: Reply) {
    super(reply.body);
  }
}

function callBackend(
  backend: FhirBackend,
  route: Route,
  url: URL,
  body: string,
  contentType: string | undefined,
  ctx: FhirRequestContext,
): FhirResponse {
  switch (route.kind) {
    case 'practitioner-read':
      return backend.practitionerRead(route.practitionerId ?? '', ctx);
    case 'practitioner-search':
      return backend.practitionerSearch(new URLSearchParams(url.searchParams), ctx);
    default: {
      const mediaType = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase();
      if (mediaType !== 'application/fhir+json' && mediaType !== 'application/json') {
        throw new RequestProblem(
          fhirReply(415, 'not-supported', 'Content-Type must be application/fhir+json (or application/json)'),
        );
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new RequestProblem(fhirReply(400, 'structure', 'The request body is not valid JSON'));
      }
      return backend.appointmentFind(parsed, ctx);
    }
  }
}

function countRequest(org: OrganizationState, route: Route): void {
  if (route.kind === 'token') org.stats.tokenRequests++;
  else if (route.kind === 'smart-configuration') org.stats.discoveryRequests++;
  else org.stats.fhirRequests++;
}

/** Maps the path after `/<org>` to an Epic route, or undefined. */
function matchRoute(rest: string[]): Route | undefined {
  const path = rest.join('/');
  if (path === 'oauth2/token') return { kind: 'token', method: 'POST', target: 'token' };
  if (path === 'api/FHIR/R4/.well-known/smart-configuration') {
    return { kind: 'smart-configuration', method: 'GET', target: undefined };
  }
  if (path === 'api/FHIR/R4/Practitioner')
    return { kind: 'practitioner-search', method: 'GET', target: 'fhir' };
  if (rest.length === 5 && path.startsWith('api/FHIR/R4/Practitioner/') && rest[4] !== '') {
    return { kind: 'practitioner-read', method: 'GET', target: 'fhir', practitionerId: rest[4] };
  }
  if (path === 'api/FHIR/STU3/Appointment/$find')
    return { kind: 'appointment-find', method: 'POST', target: 'fhir' };
  return undefined;
}

/** Path segments after the leading slash, percent-decoded; undefined when undecodable. */
function decodeSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function faultReply(fault: Exclude<Fault, { kind: 'drop' } | { kind: 'slow' }>, target: FaultTarget): Reply {
  switch (fault.kind) {
    case 'status': {
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      if (fault.body !== undefined) {
        return {
          status: fault.status,
          headers: { 'content-type': sniffType(fault.body), ...headers },
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
      return { ...reply, headers: { ...reply.headers, ...headers } };
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
      return oauthReply(fault.error, 'injected oauth-error fault');
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

function jsonReply(
  status: number,
  body: unknown,
  contentType: string,
  headers: Record<string, string> = {},
): Reply {
  return { status, headers: { 'content-type': contentType, ...headers }, body: JSON.stringify(body) };
}

function fhirReply(status: number, code: IssueType, diagnostics: string): Reply {
  return jsonReply(status, operationOutcome(code, diagnostics), FHIR_JSON);
}

function unauthorized(diagnostics: string): Reply {
  const reply = fhirReply(401, 'login', diagnostics);
  return { ...reply, headers: { ...reply.headers, 'www-authenticate': 'Bearer error="invalid_token"' } };
}

/**
 * HTTP 400 with only the OAuth `error`, as Epic answers (usually without a description). The reason
 * travels in the simulator-specific `X-Epic-Simulator-Reason` header, for whoever debugs a test.
 */
function oauthReply(error: OAuthErrorCode, reason: string): Reply {
  return jsonReply(400, { error }, OAUTH_JSON, {
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'x-epic-simulator-reason': reason.replace(/[^\x20-\x7e]/g, '?'),
  });
}

function send(res: ServerResponse, reply: Reply, options: { close?: boolean } = {}): void {
  if (res.destroyed) return;
  res.writeHead(reply.status, options.close ? { ...reply.headers, connection: 'close' } : reply.headers);
  res.end(reply.body);
}

/** The whole body as UTF-8, or undefined when it exceeds the limit. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?', 1)[0] ?? '/';
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'error';
}

function validateOptions(options: SimulatorOptions): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const org of options.organizations) {
    if (!ORG_ID_PATTERN.test(org.id))
      problems.push(`organization id "${org.id}" must match ${ORG_ID_PATTERN}`);
    if (seen.has(org.id)) problems.push(`organization id "${org.id}" is repeated`);
    seen.add(org.id);
    const lifetime = org.tokenLifetimeSeconds;
    if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < 1)) {
      problems.push(`organization "${org.id}": tokenLifetimeSeconds must be a positive integer`);
    }
    const clientIds = new Set<string>();
    for (const client of org.clients) {
      if (clientIds.has(client.clientId))
        problems.push(`organization "${org.id}": client "${client.clientId}" repeated`);
      clientIds.add(client.clientId);
      if (!isLoopbackUrl(client.jwksUrl)) {
        problems.push(
          `organization "${org.id}": client "${client.clientId}" jwksUrl must be a loopback http(s) URL`,
        );
      }
    }
  }
  if (problems.length > 0) throw new Error(`Invalid Epic simulator options:\n  - ${problems.join('\n  - ')}`);
}
