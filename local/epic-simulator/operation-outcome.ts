/**
 * FHIR `OperationOutcome` bodies the simulator answers with when a FHIR route fails (auth, routing,
 * content type). The `diagnostics` text is simulator-specific help for whoever reads a failing test;
 * it never echoes a token, an assertion or a request body.
 */
export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** The FHIR `IssueType` codes the simulator uses. */
export type IssueType =
  | 'security'
  | 'login'
  | 'not-found'
  | 'not-supported'
  | 'invalid'
  | 'structure'
  | 'required'
  | 'exception'
  | 'transient'
  | 'throttled'
  | 'too-costly';

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<{ severity: IssueSeverity; code: IssueType; diagnostics: string }>;
}

export function operationOutcome(
  code: IssueType,
  diagnostics: string,
  severity: IssueSeverity = 'error',
): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}
