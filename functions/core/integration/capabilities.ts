import type { CapabilityId } from './epic-api-manifest.js';

/**
 * What the integration page says per capability, in an Epic analyst's words. Plain text; a pair of
 * backticks marks code (`like this`), rendered as <code> after escaping.
 */
export interface SetupStep {
  title: string;
  detail: string;
}

export interface DiagnosticExplanation {
  /** Our stable diagnostic code (API.md, find-slots `diagnostics[].code`). */
  code: string;
  /** Epic's OperationOutcome code, when the diagnostic comes from one. */
  epicCode?: string;
  severity: 'information' | 'warning' | 'error';
  meaning: string;
  whatToDo: string;
}

export interface BuildDocumentation {
  label: string;
  /** Shown as text, and as a link when it is an https URL. */
  where: string;
}

export interface Capability {
  id: CapabilityId;
  title: string;
  summary: string;
  whatItIs: readonly string[];
  whatItIsNot: readonly string[];
  setupSteps: readonly SetupStep[];
  buildDocumentation: readonly BuildDocumentation[];
  diagnostics: readonly DiagnosticExplanation[];
}

/** Diagnostic codes the find-slots API returns (API.md), explained for the analyst. */
export const SCHEDULING_DIAGNOSTICS: readonly DiagnosticExplanation[] = [
  {
    code: 'no-open-slots',
    epicCode: '4101',
    severity: 'warning',
    meaning:
      'Epic ran the scheduling rules and found no open slot matching the request in the time window. The configuration works; the schedules are simply full or not yet released.',
    whatToDo:
      'Check that the providers have templates with open, released slots for this visit type and department in the window, or ask the caller to widen the window.',
  },
  {
    code: 'visit-type-not-determined',
    epicCode: '59200',
    severity: 'error',
    meaning:
      'The scheduling decision tree could not determine a visit type from the `serviceType` code (and patient) we sent.',
    whatToDo:
      'Map this `serviceType` code to a bookable visit type in the decision tree, or send us the code your decision tree expects.',
  },
  {
    code: 'provider-template-problem',
    epicCode: '59134',
    severity: 'error',
    meaning:
      'A provider or template configuration problem stopped the search, for example not enough providers with templates for the visit type.',
    whatToDo:
      'Review the provider templates and the providers attached to this visit type in the decision tree; make sure each has a template in the department.',
  },
  {
    code: 'parameter-ignored',
    epicCode: '59109',
    severity: 'information',
    meaning:
      'Epic ignored an optional parameter we sent, typically the practitioner when provider-based scheduling is not configured. We still filter results by provider on our side, so answers stay correct but can be emptier.',
    whatToDo:
      'Configure provider-based scheduling (setup step 2) so Epic searches the named provider directly.',
  },
  {
    code: 'referenced-resource-not-found',
    epicCode: '59144',
    severity: 'error',
    meaning:
      'Epic could not find a resource the request referenced, such as the location or the practitioner.',
    whatToDo:
      'Check that the department (location) id or provider we send exists and is active in your Epic, and tell us the right one.',
  },
  {
    code: 'provider-not-in-results',
    severity: 'warning',
    meaning:
      'Epic returned open slots, but none for the provider the caller asked for; we removed the others.',
    whatToDo:
      "Check that the provider schedules this visit type in the searched departments and that the provider's templates have open slots in the window.",
  },
  {
    code: 'location-not-in-results',
    severity: 'warning',
    meaning:
      'Epic returned open slots, but none at the location the caller asked for; we removed the others.',
    whatToDo:
      'Check that the visit type is scheduled in that department and that its providers have open slots there.',
  },
  {
    code: 'service-type-not-in-results',
    severity: 'warning',
    meaning: 'Epic returned slots for other visit types than the one asked for; we removed them.',
    whatToDo: 'Check how the decision tree maps this `serviceType` code to a visit type.',
  },
  {
    code: 'malformed-appointments',
    severity: 'warning',
    meaning: 'Some proposed appointments had no readable start or end time and were left out.',
    whatToDo: 'Nothing to build; tell us the time of the search so we can look at what Epic returned.',
  },
  {
    code: 'epic-outcome',
    severity: 'information',
    meaning:
      'Epic returned an OperationOutcome code we do not explain ourselves; its code and text are passed on.',
    whatToDo: 'Look the Epic code up in the Appointment.$find specification or with Epic.',
  },
];

export const SCHEDULING_CAPABILITY: Capability = {
  id: 'scheduling',
  title: 'Scheduling: finding open appointment slots',
  summary:
    "Our staff schedule patients into your providers' existing availability. We ask Epic for open slots with `Appointment.$find (STU3)`, resolving a named provider with `Practitioner.Search (Organizational Directory) (R4)` first.",
  whatItIs: [
    'Staff-driven, cross-organization scheduling: a scheduler on our platform searches on behalf of a patient.',
    "Epic answers from your organization's own scheduling decision rules (the rules engine is built per organization): your build decides the visit type, the providers and the departments, and may require or ignore any input we send.",
    'Only slots that already exist as open slots on provider schedules come back.',
  ],
  whatItIsNot: [
    'Not patient self-scheduling: patients do not book through this integration.',
    'It never creates availability, overbooks or overrides templates, blocks or holds.',
    'It does not take a standard provider parameter: how a named practitioner is used depends on your provider-based scheduling build.',
    'Appointment ids it proposes are temporary: they change on every search and are never stored.',
  ],
  setupSteps: [
    {
      title: 'Activate the client and map it to a user',
      detail:
        'Enable the APIs listed on this page for our client id, and map the client id to an Epic user (a background user for auditing). Until the mapping exists Epic answers our token request with `unauthorized_client`.',
    },
    {
      title: 'Configure provider-based scheduling',
      detail:
        "Build the decision support so a request naming a practitioner (with a department and visit type) is accepted and searched against that provider's availability. Without it Epic ignores the practitioner (code 59109) and we filter on our side.",
    },
    {
      title: 'Flag the bookable visit types and send us their codes',
      detail:
        'Flag each visit/appointment type we may book, then send us the `serviceType` coding system (your organization-specific OID, e.g. `urn:oid:1.2.840.114350.1.13.0.1.7.3.808267.11`) and the code and display name of each bookable type.',
    },
    {
      title: 'Make sure the providers have open slots',
      detail:
        'The providers and departments in scope need templates with open, released slots for those visit types; `$find` only returns availability that already exists.',
    },
    {
      title: 'Confirm in non-production before go-live',
      detail:
        'We run our preflight against your non-production environment with the non-production client id; every check must pass before we move to production. The sandbox has only a basic rules engine and your rules can change, so we confirm again in production.',
    },
  ],
  buildDocumentation: [
    {
      label: 'Scheduling decision support (Cadence) setup and support guides',
      where:
        'Epic UserWeb (Galaxy): search for the Appointment.$find and scheduling decision tree build guides, or ask your Epic Technical Services contact.',
    },
    {
      label: 'Appointment.$find (STU3) API specification',
      where: 'https://fhir.epic.com/Specifications?api=840',
    },
    {
      label: 'Backend OAuth 2.0 and JWK Set URL registration',
      where: 'https://fhir.epic.com/Documentation?docId=oauth2',
    },
  ],
  diagnostics: SCHEDULING_DIAGNOSTICS,
};

export const PROVIDER_DIRECTORY_CAPABILITY: Capability = {
  id: 'provider-directory',
  title: 'Provider directory',
  summary:
    'We read practitioners, their roles, locations and organizations so callers can name a provider or department and we can label the slots we return.',
  whatItIs: [
    'Read-only access to the organizational directory (practitioners, roles, locations, organizations).',
  ],
  whatItIsNot: ['We never create or update directory records.'],
  setupSteps: [
    {
      title: 'Enable the directory APIs',
      detail:
        'Enable the Practitioner, PractitionerRole, Location and Organization APIs listed on this page for our client id. No other build is needed.',
    },
    {
      title: 'Keep NPIs on provider records',
      detail:
        'We match providers by NPI (`http://hl7.org/fhir/sid/us-npi`) when names are ambiguous, so providers in scope need their NPI on the provider record.',
    },
  ],
  buildDocumentation: [],
  diagnostics: [],
};

export const PATIENT_ACCESS_CAPABILITY: Capability = {
  id: 'patient-access',
  title: 'Patient access',
  summary:
    'Read APIs a scheduling and patient-access platform needs around an appointment: demographics, coverage, appointments and encounters. Requested now so the registration does not have to change later; not called yet.',
  whatItIs: [
    "Read-only access to the patient's demographics, insurance coverage, appointments and encounters.",
  ],
  whatItIsNot: ['We do not write to the chart.'],
  setupSteps: [
    {
      title: 'Enable the patient APIs',
      detail:
        'Enable the Patient, Coverage, Appointment and Encounter APIs listed on this page for our client id. No other build is needed.',
    },
  ],
  buildDocumentation: [],
  diagnostics: [],
};

export const CAPABILITIES: readonly Capability[] = [
  SCHEDULING_CAPABILITY,
  PROVIDER_DIRECTORY_CAPABILITY,
  PATIENT_ACCESS_CAPABILITY,
];
