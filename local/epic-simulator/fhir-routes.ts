/**
 * The FHIR data routes (Practitioner read/search on R4, Appointment.$find on STU3): the bearer
 * token, `Epic-Client-ID` and `Accept` (FHIR JSON, else 406) checks every Epic FHIR call passes,
 * `Content-Type: application/fhir+json` on `$find` (else 415), then the organization's
 * {@link FhirBackend}.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FhirRequestContext, FhirResponse } from './fhir-backend.js';
import { FHIR_JSON, fhirReply, jsonReply, type Reply, unauthorizedReply } from './http-replies.js';
import type { OrganizationState } from './organization.js';

export type FhirRoute =
  | { kind: 'practitioner-read'; id: string }
  | { kind: 'practitioner-search'; params: URLSearchParams }
  | { kind: 'appointment-find'; body: string };

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;
const FHIR_JSON_ACCEPTS = new Set(['application/fhir+json', 'application/json', '*/*']);

/** No Accept header means anything; otherwise one listed media type must be FHIR JSON. */
function acceptsFhirJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept
    .split(',')
    .map((part) => part.split(';', 1)[0]?.trim().toLowerCase() ?? '')
    .some((type) => FHIR_JSON_ACCEPTS.has(type));
}

/**
 * Answers one FHIR data request for `org` at simulator time `now`. `requestLine` (`METHOD /path`)
 * labels the entry recorded in `stats.unexpected` when the backend throws.
 */
export function fhirRouteReply(
  org: OrganizationState,
  route: FhirRoute,
  headers: IncomingHttpHeaders,
  now: number,
  requestLine: string,
): Reply {
  const accessToken = BEARER.exec(headers.authorization ?? '')?.[1];
  if (accessToken === undefined) return unauthorizedReply('Authorization: Bearer <access token> is required');
  const token = org.validToken(accessToken);
  if (token === undefined) return unauthorizedReply('The access token is invalid, expired or revoked');
  const epicClientId = headers['epic-client-id'];
  if (typeof epicClientId !== 'string' || epicClientId === '') {
    return fhirReply(400, 'required', 'The Epic-Client-ID header is required');
  }
  if (epicClientId !== token.clientId) {
    return unauthorizedReply('Epic-Client-ID is not the client the access token was issued to');
  }
  if (!acceptsFhirJson(headers.accept)) {
    return fhirReply(
      406,
      'not-supported',
      'Accept must allow FHIR JSON: application/fhir+json, application/json or */*',
    );
  }
  const backend = org.fhir;
  if (backend === undefined) return fhirReply(404, 'not-found', 'This organization serves no FHIR resources');

  const ctx: FhirRequestContext = {
    orgId: org.id,
    r4Base: org.endpoints.r4Base,
    stu3Base: org.endpoints.stu3Base,
    now,
  };
  let findBody: unknown;
  if (route.kind === 'appointment-find') {
    const mediaType = (headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
    if (mediaType !== 'application/fhir+json') {
      return fhirReply(415, 'not-supported', 'Content-Type must be application/fhir+json');
    }
    try {
      findBody = JSON.parse(route.body);
    } catch {
      return fhirReply(400, 'structure', 'The request body is not valid JSON');
    }
  }

  let response: FhirResponse;
  try {
    if (route.kind === 'practitioner-read') response = backend.practitionerRead(route.id, ctx);
    else if (route.kind === 'practitioner-search') response = backend.practitionerSearch(route.params, ctx);
    else response = backend.appointmentFind(findBody, ctx);
  } catch (error) {
    const name = error instanceof Error ? error.name : 'a non-Error';
    org.stats.unexpected.push(`${requestLine} -> 500: FhirBackend threw ${name}`);
    return fhirReply(500, 'exception', 'The FHIR backend failed');
  }
  return jsonReply(response.status, response.body, FHIR_JSON);
}
