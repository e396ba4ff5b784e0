import type { OutcomeSummary } from '../epic/fhir-client.js';

/**
 * Turns Epic's `$find` OperationOutcome issues into diagnostics with our stable codes and messages
 * that tell an Epic analyst what to check. Codes are a contract (API.md): never rename one.
 */
export type DiagnosticSeverity = 'error' | 'warning' | 'information';

export interface Diagnostic {
  severity: DiagnosticSeverity;
  /** Our stable code, e.g. "no-open-slots". */
  code: string;
  /** Epic's code from `OperationOutcome.issue.details.coding.code`, null when the diagnostic is ours. */
  epicCode: string | null;
  message: string;
  /** Epic's own text for the issue: only for codes whose text is a fixed Epic message (truncated). */
  epicText?: string;
}

export const DIAGNOSTIC = {
  noOpenSlots: 'no-open-slots',
  visitTypeNotDetermined: 'visit-type-not-determined',
  providerTemplateProblem: 'provider-template-problem',
  parameterIgnored: 'parameter-ignored',
  referencedResourceNotFound: 'referenced-resource-not-found',
  providerNotInResults: 'provider-not-in-results',
  locationNotInResults: 'location-not-in-results',
  serviceTypeNotInResults: 'service-type-not-in-results',
  malformedAppointments: 'malformed-appointments',
  epicOutcome: 'epic-outcome',
} as const;

/** What a message may mention about the request (no patient data). */
export interface DiagnosticContext {
  tenant: string;
  window: { start: string; end: string };
  serviceType?: { system: string; code: string; display?: string };
  provider?: { id: string; name: string };
  locationId?: string;
  providerBasedScheduling: boolean;
}

interface KnownCode {
  code: string;
  severity: DiagnosticSeverity;
  message: (ctx: DiagnosticContext) => string;
}

function visitType(ctx: DiagnosticContext): string {
  if (!ctx.serviceType) return 'the requested visit type (no serviceType was sent)';
  const label = ctx.serviceType.display ? ` "${ctx.serviceType.display}"` : '';
  return `service type ${ctx.serviceType.code}${label} (${ctx.serviceType.system})`;
}

const KNOWN: Readonly<Record<string, KnownCode>> = {
  '4101': {
    code: DIAGNOSTIC.noOpenSlots,
    severity: 'warning',
    message: (ctx) =>
      `Epic found no open slots from ${ctx.window.start} to ${ctx.window.end} for ${visitType(ctx)}` +
      `${ctx.provider ? ` with ${ctx.provider.name}` : ''}. Epic analyst: check that the provider's schedule ` +
      'has open (not held or blocked) slots in this window for the visit type, that the department allows ' +
      'booking this far ahead, and try a wider window.',
  },
  '59200': {
    code: DIAGNOSTIC.visitTypeNotDetermined,
    severity: 'warning',
    message: (ctx) =>
      `Epic's Scheduling Decision Support could not determine a visit type for ${visitType(ctx)}. ` +
      'Epic analyst: check that the decision tree used for Appointment.$find maps this service type code ' +
      'to a bookable visit type, and that the code is flagged as bookable for this client.',
  },
  '59134': {
    code: DIAGNOSTIC.providerTemplateProblem,
    severity: 'warning',
    message: (ctx) =>
      `Epic reported a provider or template configuration problem${ctx.provider ? ` for ${ctx.provider.name}` : ''} ` +
      `(e.g. not enough providers with templates for ${visitType(ctx)}). Epic analyst: check that the ` +
      "provider's Cadence templates are built and released for this visit type and department over the window.",
  },
  '59109': {
    code: DIAGNOSTIC.parameterIgnored,
    severity: 'information',
    message: (ctx) =>
      'Epic ignored an optional parameter of the $find request as invalid or not configured. ' +
      (ctx.provider
        ? `Results were still filtered here to ${ctx.provider.name}. `
        : 'Results were still filtered here by the request. ') +
      'Epic analyst: if it is the practitioner, configure provider-based scheduling for $find; ' +
      "otherwise check the parameter named in Epic's text is supported by the organization's build.",
  },
  '59144': {
    code: DIAGNOSTIC.referencedResourceNotFound,
    severity: 'warning',
    message: (ctx) =>
      'Epic could not find a resource the $find request referenced' +
      `${ctx.locationId ? ` (for example location ${ctx.locationId})` : ''}. Check the location or ` +
      'patient id is valid in this organization and was read with the same FHIR version.',
  },
};

const EPIC_SEVERITY: Readonly<Record<string, DiagnosticSeverity>> = {
  fatal: 'error',
  error: 'error',
  warning: 'warning',
  information: 'information',
};

/**
 * One diagnostic per OperationOutcome issue (duplicates merged). Known Epic codes get our code and
 * an analyst-facing message; others pass through as `epic-outcome` with Epic's code (never its
 * free text, which may echo patient details).
 */
export function diagnosticsFromOutcome(
  issues: readonly OutcomeSummary[],
  ctx: DiagnosticContext,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const epicCode = issue.epicCodes.find((c) => KNOWN[c] !== undefined) ?? issue.epicCodes[0] ?? null;
    const known = epicCode !== null ? KNOWN[epicCode] : undefined;
    const diagnostic: Diagnostic = known
      ? { severity: known.severity, code: known.code, epicCode, message: known.message(ctx) }
      : {
          severity: EPIC_SEVERITY[issue.severity ?? ''] ?? 'information',
          code: DIAGNOSTIC.epicOutcome,
          epicCode,
          // Epic's text for codes we do not know is never in the summary (it may echo patient data).
          message:
            `Epic returned an OperationOutcome issue${epicCode ? ` with code ${epicCode}` : ''}` +
            `${issue.code ? ` (${issue.code})` : ''}; an Epic analyst can look the code up.`,
        };
    if (issue.text) diagnostic.epicText = issue.text;
    const key = `${diagnostic.code}\u0000${diagnostic.epicCode}\u0000${diagnostic.epicText ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(diagnostic);
  }
  return out;
}

export function providerNotInResults(returned: number, ctx: DiagnosticContext): Diagnostic {
  const name = ctx.provider?.name ?? 'the requested provider';
  return {
    severity: 'warning',
    code: DIAGNOSTIC.providerNotInResults,
    epicCode: null,
    message:
      `Epic returned ${returned} proposed appointment(s), none with ${name}` +
      `${ctx.provider ? ` (Practitioner ${ctx.provider.id})` : ''}. ` +
      (ctx.providerBasedScheduling
        ? "Epic analyst: check provider-based scheduling for $find includes this provider and that the provider's schedule has open slots for the visit type in this window."
        : `Tenant "${ctx.tenant}" is configured without provider-based scheduling, so Epic chose the providers; ` +
          'ask the Epic analyst to configure provider-based scheduling, or try a wider window.'),
  };
}

/**
 * The practitioner was not sent to Epic (the tenant has no provider-based scheduling), so Epic chose
 * among all providers and the answer was filtered here. Same code as Epic's 59109, no Epic code.
 */
export function practitionerNotSent(ctx: DiagnosticContext): Diagnostic {
  return {
    severity: 'information',
    code: DIAGNOSTIC.parameterIgnored,
    epicCode: null,
    message:
      `The practitioner was not sent to Epic because tenant "${ctx.tenant}" is configured without ` +
      'provider-based scheduling; Epic proposed slots for every provider and they were filtered here to ' +
      `${ctx.provider?.name ?? 'the requested provider'}. Once the Epic analyst has configured provider-based ` +
      'scheduling for $find, set scheduling.providerBasedScheduling to true for this tenant.',
  };
}

export function locationNotInResults(returned: number, ctx: DiagnosticContext): Diagnostic {
  return {
    severity: 'warning',
    code: DIAGNOSTIC.locationNotInResults,
    epicCode: null,
    message:
      `Epic returned ${returned} proposed appointment(s), none at location ${ctx.locationId ?? '(none)'}. ` +
      'Check the location id (an STU3/R4 Location id of a department that schedules this visit type) and ' +
      "that the organization's $find rules honour location-reference.",
  };
}

export function serviceTypeNotInResults(returned: number, ctx: DiagnosticContext): Diagnostic {
  return {
    severity: 'warning',
    code: DIAGNOSTIC.serviceTypeNotInResults,
    epicCode: null,
    message:
      `Epic returned ${returned} proposed appointment(s), none for ${visitType(ctx)}. ` +
      'Epic analyst: check the decision tree maps the service type to the visit type it books.',
  };
}

export function malformedAppointments(count: number): Diagnostic {
  return {
    severity: 'warning',
    code: DIAGNOSTIC.malformedAppointments,
    epicCode: null,
    message: `${count} proposed appointment(s) from Epic had no readable start and end and were left out.`,
  };
}

/** The explanation of an empty answer when Epic gave none. */
export function emptyWithoutExplanation(ctx: DiagnosticContext): Diagnostic {
  return {
    severity: 'warning',
    code: DIAGNOSTIC.noOpenSlots,
    epicCode: null,
    message:
      `Epic returned no proposed appointments from ${ctx.window.start} to ${ctx.window.end} and no explanation. ` +
      'Epic analyst: check the schedules have open slots for the visit type in this window and that the $find decision tree accepts this request.',
  };
}
