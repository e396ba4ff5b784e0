/**
 * The Epic sandbox simulator: several strict stand-ins for Epic organizations on one loopback port,
 * each under its own path prefix `/<orgId>`:
 *
 * - `POST /<org>/oauth2/token`: SMART Backend Services token endpoint that validates client
 *   assertions the way Epic does, fetching the client's JWK Set URL (see `token-endpoint.ts`).
 * - `GET  /<org>/api/FHIR/R4/.well-known/smart-configuration`: discovery (no auth).
 * - `GET  /<org>/api/FHIR/R4/Practitioner/<id>`, `GET /<org>/api/FHIR/R4/Practitioner?...` and
 *   `POST /<org>/api/FHIR/STU3/Appointment/$find`: bearer-token and `Epic-Client-ID` checks, then
 *   the organization's {@link FhirBackend} (see `fhir-routes.ts`).
 *
 * Anything else is answered 404/405 and recorded in `stats(org).unexpected`, so a test that
 * expects none fails loudly. Faults can be injected per organization and target (`faults.ts`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { type Clock, systemClock } from '../../functions/core/clock.js';
import type { Fault, FaultTarget } from './faults.js';
import type { FhirBackend } from './fhir-backend.js';
import { type FhirRoute, fhirRouteReply } from './fhir-routes.js';
import {
  faultReply,
  fhirReply,
  jsonReply,
  OAUTH_JSON,
  oauthErrorReply,
  type Reply,
  send,
  withHeaders,
} from './http-replies.js';
import { isLoopbackUrl } from './jwks-cache.js';
import { OrganizationState, type SimulatorEndpoints, type SimulatorStats } from './organization.js';
import { ACCEPTED_ASSERTION_ALGS, decideTokenRequest } from './token-endpoint.js';

export type { Fault, FaultTarget } from './faults.js';
export type { SimulatorEndpoints, SimulatorStats } from './organization.js';

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

/** A running simulator. Every method taking `orgId` throws on an unknown organization. */
export interface EpicSimulator {
  /** `http://127.0.0.1:<port>` */
  url: string;
  endpoints(orgId: string): SimulatorEndpoints;
  /**
   * Arms (or, with `undefined`, clears) a fault for an organization's `token` endpoint or its
   * `fhir` data routes (not discovery). It affects the next `fault.times` requests (default: all
   * until cleared) and takes precedence over normal handling, auth included; `slow` delays and then
   * answers normally. Throws a RangeError for a fault that does not fit the target.
   */
  setFault(orgId: string, target: FaultTarget, fault: Fault | undefined): void;
  /** Every token issued so far by this organization gets 401 on FHIR calls from now on. */
  revokeTokens(orgId: string): void;
  /** `expires_in` (seconds, positive integer) for tokens issued from now on. */
  setTokenLifetime(orgId: string, seconds: number): void;
  /**
   * A snapshot of the organization's counters. Requests for an unknown organization are recorded
   * in every organization's `unexpected`.
   */
  stats(orgId: string): SimulatorStats;
  /** Resets every organization's counters (not faults, tokens, jtis or JWK Set caches). */
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

type Route =
  | { kind: 'token'; method: 'POST' }
  | { kind: 'smart-configuration'; method: 'GET' }
  | { kind: 'fhir'; method: 'GET' | 'POST'; fhir: (body: string) => FhirRoute };

/** Starts a simulator listening on 127.0.0.1. */
export async function createEpicSimulator(options: SimulatorOptions): Promise<EpicSimulator> {
  validateOptions(options);
  const clock = options.clock ?? systemClock;
  const orgs = new Map<string, OrganizationState>();
  const closing = new AbortController();

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      const name = error instanceof Error ? error.name : 'a non-Error';
      recordUnexpectedEverywhere(
        `${req.method} ${(req.url ?? '/').split('?')[0]} -> 500: simulator threw ${name}`,
      );
      if (res.headersSent) res.destroy();
      else send(res, fhirReply(500, 'exception', 'Simulator internal error'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error('The simulator did not bind a TCP port');
  const baseUrl = `http://127.0.0.1:${address.port}`;

  for (const org of options.organizations) {
    const r4Base = `${baseUrl}/${org.id}/api/FHIR/R4`;
    const endpoints: SimulatorEndpoints = {
      tokenUrl: `${baseUrl}/${org.id}/oauth2/token`,
      r4Base,
      stu3Base: `${baseUrl}/${org.id}/api/FHIR/STU3`,
      smartConfigurationUrl: `${r4Base}/.well-known/smart-configuration`,
    };
    const clients = org.clients.map((client) => ({ ...client, mappedToUser: client.mappedToUser ?? true }));
    const state = new OrganizationState({
      id: org.id,
      endpoints,
      clients,
      tokenLifetimeSeconds: org.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
      fhir: org.fhir,
      clock,
      fetch: options.fetch ?? fetch,
    });
    orgs.set(org.id, state);
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
    const requestLine = `${method} ${url.pathname}`;
    const segments = decodeSegments(url.pathname);
    const org = orgs.get(segments?.[0] ?? '');
    if (segments === undefined || org === undefined) {
      recordUnexpectedEverywhere(`${requestLine} -> 404: unknown organization`);
      return send(res, fhirReply(404, 'not-found', 'No simulated organization at this path'));
    }
    const route = matchRoute(segments.slice(1), url.searchParams);
    if (route === undefined) {
      org.stats.unexpected.push(`${requestLine} -> 404: no such Epic route`);
      return send(res, fhirReply(404, 'not-found', 'No Epic route at this path'));
    }
    countRequest(org.stats, route);
    if (method !== route.method) {
      org.stats.unexpected.push(`${requestLine} -> 405: only ${route.method}`);
      const reply =
        route.kind === 'token'
          ? oauthErrorReply('invalid_request', `only ${route.method}`)
          : fhirReply(405, 'not-supported', `Only ${route.method} is supported here`);
      return send(res, withHeaders({ ...reply, status: 405 }, { allow: route.method }));
    }

    const target = faultTarget(route);
    const fault = target === undefined ? undefined : org.faults[target].take();
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      org.stats.unexpected.push(`${requestLine} -> 413: body over ${MAX_BODY_BYTES} bytes`);
      return send(
        res,
        withHeaders(fhirReply(413, 'too-costly', 'Request body too large'), { connection: 'close' }),
      );
    }
    if (fault !== undefined && target !== undefined) {
      if (fault.kind !== 'slow') return send(res, faultReply(fault, target));
      try {
        await delay(fault.delayMs, undefined, { signal: closing.signal });
      } catch {
        res.destroy();
        return;
      }
    }

    switch (route.kind) {
      case 'token':
        return send(res, await tokenReply(org, req.headers['content-type'], body));
      case 'smart-configuration':
        return send(res, jsonReply(200, smartConfiguration(org.endpoints), 'application/json'));
      case 'fhir':
        return send(res, fhirRouteReply(org, route.fhir(body), req.headers, clock.now(), requestLine));
    }
  }

  return {
    url: baseUrl,
    endpoints: (orgId) => ({ ...orgOrThrow(orgId).endpoints }),
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
      server.closeAllConnections();
      await closed;
    },
  };
}

async function tokenReply(
  org: OrganizationState,
  contentType: string | undefined,
  body: string,
): Promise<Reply> {
  const decision = await decideTokenRequest(contentType, body, org.tokenEndpoint);
  if (!decision.ok) {
    org.stats.rejections.push({ error: decision.error, reason: decision.reason });
    return oauthErrorReply(decision.error, decision.reason);
  }
  const { accessToken, expiresIn } = org.issueToken(decision.clientId);
  const response = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: expiresIn,
    scope: decision.requestedScope ?? DEFAULT_GRANTED_SCOPE,
  };
  return jsonReply(200, response, OAUTH_JSON, { 'cache-control': 'no-store', pragma: 'no-cache' });
}

/** Epic-shaped SMART discovery: what a backend app needs is `token_endpoint` and private_key_jwt. */
function smartConfiguration(endpoints: SimulatorEndpoints): Record<string, unknown> {
  return {
    authorization_endpoint: endpoints.tokenUrl.replace(/token$/, 'authorize'),
    token_endpoint: endpoints.tokenUrl,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ACCEPTED_ASSERTION_ALGS],
    grant_types_supported: [
      'authorization_code',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ],
    scopes_supported: ['openid', 'fhirUser', 'launch', 'system/Practitioner.read', 'system/Appointment.read'],
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

/** Maps the path after `/<org>` to an Epic route, or undefined. */
function matchRoute(rest: string[], query: URLSearchParams): Route | undefined {
  const path = rest.join('/');
  if (path === 'oauth2/token') return { kind: 'token', method: 'POST' };
  if (path === 'api/FHIR/R4/.well-known/smart-configuration')
    return { kind: 'smart-configuration', method: 'GET' };
  if (path === 'api/FHIR/R4/Practitioner') {
    return { kind: 'fhir', method: 'GET', fhir: () => ({ kind: 'practitioner-search', params: query }) };
  }
  const id = rest[4];
  if (rest.length === 5 && path.startsWith('api/FHIR/R4/Practitioner/') && id) {
    return { kind: 'fhir', method: 'GET', fhir: () => ({ kind: 'practitioner-read', id }) };
  }
  if (path === 'api/FHIR/STU3/Appointment/$find') {
    return { kind: 'fhir', method: 'POST', fhir: (body) => ({ kind: 'appointment-find', body }) };
  }
  return undefined;
}

function faultTarget(route: Route): FaultTarget | undefined {
  if (route.kind === 'token') return 'token';
  return route.kind === 'fhir' ? 'fhir' : undefined;
}

function countRequest(stats: SimulatorStats, route: Route): void {
  if (route.kind === 'token') stats.tokenRequests++;
  else if (route.kind === 'smart-configuration') stats.discoveryRequests++;
  else stats.fhirRequests++;
}

/** Path segments after the leading slash, percent-decoded; undefined when undecodable. */
function decodeSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
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
