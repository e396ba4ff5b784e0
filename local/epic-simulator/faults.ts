/**
 * Fault injection: per organization and per target (`token` = the token endpoint, `fhir` = the FHIR
 * data routes), a fault replaces normal handling for the next `times` requests (default: until it
 * is cleared with `setFault(org, target, undefined)`).
 */

/** Which endpoint family a fault applies to. */
export type FaultTarget = 'token' | 'fhir';

/** What a faulty endpoint does instead of answering normally. */
export type Fault =
  /**
   * Answers with `status` (e.g. 429, 500, 503). `retryAfterSeconds` sets `Retry-After`. `body` is
   * sent verbatim (as JSON when it parses as JSON, else as text/plain); without it the body is an
   * OAuth `{"error":"server_error"}` (token) or an OperationOutcome (fhir).
   */
  | { kind: 'status'; status: number; retryAfterSeconds?: number; body?: string; times?: number }
  /** Waits `delayMs` of real time, then answers normally (for client timeouts). */
  | { kind: 'slow'; delayMs: number; times?: number }
  /** 200 with a JSON content type and a truncated, unparseable JSON body. */
  | { kind: 'malformed'; times?: number }
  /** Token endpoint only: HTTP 400 with this OAuth `error`, whatever the request. */
  | {
      kind: 'oauth-error';
      error: 'invalid_client' | 'unauthorized_client' | 'invalid_request';
      times?: number;
    }
  /** FHIR only: 200 `text/html` page, as a misconfigured proxy or login page would answer. */
  | { kind: 'non-fhir'; times?: number }
  /** Destroys the socket without answering. */
  | { kind: 'drop'; times?: number };

/** One armed fault with its remaining count (undefined = unlimited). */
export class FaultSlot {
  private fault: Fault | undefined;
  private remaining: number | undefined;

  set(target: FaultTarget, fault: Fault | undefined): void {
    if (fault !== undefined) validateFault(target, fault);
    this.fault = fault;
    this.remaining = fault?.times;
  }

  /** The fault that applies to the request being handled now (consuming one of its `times`). */
  take(): Fault | undefined {
    const fault = this.fault;
    if (fault === undefined) return undefined;
    if (this.remaining !== undefined) {
      this.remaining -= 1;
      if (this.remaining <= 0) {
        this.fault = undefined;
        this.remaining = undefined;
      }
    }
    return fault;
  }
}

function validateFault(target: FaultTarget, fault: Fault): void {
  if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) {
    throw new RangeError(`Fault "times" must be a positive integer, got ${fault.times}`);
  }
  if (fault.kind === 'oauth-error' && target !== 'token') {
    throw new RangeError('An "oauth-error" fault applies to the token endpoint only');
  }
  if (fault.kind === 'non-fhir' && target !== 'fhir') {
    throw new RangeError('A "non-fhir" fault applies to FHIR routes only');
  }
  if (
    fault.kind === 'status' &&
    (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599)
  ) {
    throw new RangeError(`Fault status must be an HTTP status code, got ${fault.status}`);
  }
  if (fault.kind === 'slow' && (!Number.isFinite(fault.delayMs) || fault.delayMs < 0)) {
    throw new RangeError(`Fault delayMs must be a non-negative number, got ${fault.delayMs}`);
  }
}
