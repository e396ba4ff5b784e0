/**
 * Epic-shaped `OperationOutcome` issues: every issue carries Epic's error code in
 * `details.coding[]` under Epic's error-code system, with the severity Epic's error table gives the
 * code ("Fatal" -> `fatal`, "Warning" -> `warning`, "Information" -> `information`).
 *
 * `diagnostics` never echoes patient data or credentials; it names parameters and configuration.
 */

/** Epic's OID for its FHIR error codes. */
export const EPIC_ERROR_SYSTEM = 'urn:oid:1.2.840.114350.1.13.0.1.7.2.657369';

export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

export interface OutcomeIssue {
  severity: IssueSeverity;
  code: string;
  details: { coding: Array<{ system: string; code: string; display: string }>; text: string };
  diagnostics?: string;
}

export interface OperationOutcomeResource {
  resourceType: 'OperationOutcome';
  issue: OutcomeIssue[];
}

/** The Epic codes the scheduling backend answers with, with Epic's severity, issue type and text. */
export const EpicCode = {
  /** Resource request returns no results. */
  noResults: {
    code: '4101',
    severity: 'warning',
    type: 'processing',
    display: 'Resource request returns no results.',
  },
  /** The read resource request contained an invalid ID. */
  invalidId: {
    code: '4102',
    severity: 'fatal',
    type: 'not-found',
    display: 'The read resource request contained an invalid ID.',
  },
  /** No parameters are provided in the search request. */
  noParameters: {
    code: '4110',
    severity: 'fatal',
    type: 'required',
    display: 'No parameters are provided in the search request.',
  },
  /** Unknown search parameter (ignored). */
  unknownSearchParameter: {
    code: '59100',
    severity: 'information',
    type: 'invalid',
    display: 'Content invalid against the specification or a profile.',
  },
  /** A structural issue in the content. */
  structure: {
    code: '59105',
    severity: 'fatal',
    type: 'structure',
    display: 'A structural issue in the content.',
  },
  /** Required element missing. */
  requiredMissing: {
    code: '59108',
    severity: 'fatal',
    type: 'required',
    display: 'Required element missing.',
  },
  /** Optional element invalid: ignored. */
  optionalInvalid: {
    code: '59109',
    severity: 'information',
    type: 'value',
    display: 'Optional element invalid.',
  },
  /** Required element invalid. */
  requiredInvalid: { code: '59111', severity: 'fatal', type: 'value', display: 'Required element invalid.' },
  /** Provider / template configuration problem. */
  processing: { code: '59134', severity: 'warning', type: 'processing', display: 'Processing issues.' },
  /** The reference provided was not found. */
  referenceNotFound: {
    code: '59144',
    severity: 'fatal',
    type: 'not-found',
    display: 'The reference provided was not found.',
  },
  /** The decision tree could not determine a visit type. */
  visitTypeNotDetermined: {
    code: '59200',
    severity: 'warning',
    type: 'processing',
    display: 'The visit type could not be determined.',
  },
} as const satisfies Record<string, { code: string; severity: IssueSeverity; type: string; display: string }>;

export type EpicCodeName = keyof typeof EpicCode;

export function issue(name: EpicCodeName, diagnostics?: string, text?: string): OutcomeIssue {
  const c = EpicCode[name];
  return {
    severity: c.severity,
    code: c.type,
    details: {
      coding: [{ system: EPIC_ERROR_SYSTEM, code: c.code, display: c.display }],
      text: text ?? c.display,
    },
    ...(diagnostics === undefined ? {} : { diagnostics }),
  };
}

export function operationOutcome(issues: OutcomeIssue[]): OperationOutcomeResource {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** True when any issue is fatal: Epic then returns no results. */
export function hasFatal(issues: readonly OutcomeIssue[]): boolean {
  return issues.some((i) => i.severity === 'fatal');
}
