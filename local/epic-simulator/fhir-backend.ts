/**
 * The seam between the simulator's HTTP server (auth, fault injection, routing) and the FHIR
 * resources it serves (Practitioner, Appointment.$find). The server has already checked the bearer
 * token and `Epic-Client-ID` before calling a backend.
 */
export interface FhirRequestContext {
  /** The organization (path prefix) being called. */
  orgId: string;
  /** Absolute R4 base of this organization, e.g. http://127.0.0.1:4010/sandbox/api/FHIR/R4 */
  r4Base: string;
  /** Absolute STU3 base of this organization. */
  stu3Base: string;
  /** Simulator clock, ms since epoch. */
  now: number;
}

export interface FhirResponse {
  status: number;
  /** JSON-serialisable FHIR resource (Bundle, Practitioner, OperationOutcome, ...). */
  body: unknown;
}

export interface FhirBackend {
  /** GET <r4>/Practitioner/<id> */
  practitionerRead(id: string, ctx: FhirRequestContext): FhirResponse;
  /** GET <r4>/Practitioner?name=|family=|given=|identifier= */
  practitionerSearch(params: URLSearchParams, ctx: FhirRequestContext): FhirResponse;
  /** POST <stu3>/Appointment/$find with a parsed JSON body (not yet validated). */
  appointmentFind(body: unknown, ctx: FhirRequestContext): FhirResponse;
}
