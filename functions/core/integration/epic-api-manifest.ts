/**
 * The Epic APIs this integration asks a health system to enable on its client, as Epic names them in
 * its public catalog (open.epic.com/Interface/FHIR; each id is fhir.epic.com/Specifications?api=<id>).
 * The integration page and the analyst checklist are computed from this list; tests check every
 * entry against the catalog transcription and every API the code calls against this list.
 */
export type FhirVersion = 'DSTU2' | 'STU3' | 'R4';

/**
 * `scope`: granted once the API is on the app's registration (the client's scopes).
 * `organization-configuration`: the API is granted by scope but only answers usefully once the
 * organization has built the configuration behind it (e.g. `$find` runs its scheduling rules).
 */
export type GrantedBy = 'scope' | 'organization-configuration';

/** The product capabilities an API serves; each has a section on the integration page. */
export type CapabilityId = 'scheduling' | 'provider-directory' | 'patient-access';

export interface EpicApi {
  /** Exactly as Epic's catalog names it, e.g. `Appointment.$find (STU3)`. */
  name: string;
  /** Epic's API id (fhir.epic.com/Specifications?api=<id>). */
  epicApiId: number;
  fhirVersion: FhirVersion;
  /** The catalog's area heading, e.g. `Practitioner, PractitionerRole`. */
  area: string;
  /** Shorter names the catalog records for the same API id (older listings, other integrations). */
  alsoKnownAs?: readonly string[];
  grantedBy: GrantedBy;
  usedBy: readonly CapabilityId[];
  /** True when the product calls this API today (see EPIC_APIS_CALLED_BY_CODE). */
  calledByCode: boolean;
  /** Why we request it, in an analyst's words. */
  purpose: string;
}

/**
 * The Epic APIs the product's code calls, by catalog name. FHIR client and scheduling code reference
 * these constants where they make the call, so the manifest test sees every API the code uses.
 */
export const EPIC_APIS_CALLED_BY_CODE = {
  practitionerRead: 'Practitioner.Read (Organizational Directory) (R4)',
  practitionerSearch: 'Practitioner.Search (Organizational Directory) (R4)',
  appointmentFind: 'Appointment.$find (STU3)',
} as const;

export type CalledEpicApiName = (typeof EPIC_APIS_CALLED_BY_CODE)[keyof typeof EPIC_APIS_CALLED_BY_CODE];

const PRACTITIONER = 'Practitioner, PractitionerRole';
const SCHEDULING = 'Appointment, Schedule, Slot';

export const EPIC_API_MANIFEST: readonly EpicApi[] = [
  // Practitioner, PractitionerRole
  {
    name: EPIC_APIS_CALLED_BY_CODE.practitionerSearch,
    epicApiId: 936,
    fhirVersion: 'R4',
    area: PRACTITIONER,
    alsoKnownAs: ['Practitioner.Search (R4)'],
    grantedBy: 'scope',
    usedBy: ['scheduling', 'provider-directory'],
    calledByCode: true,
    purpose: 'Resolve a provider named in a request (name, NPI) to the practitioner Epic schedules.',
  },
  {
    name: EPIC_APIS_CALLED_BY_CODE.practitionerRead,
    epicApiId: 935,
    fhirVersion: 'R4',
    area: PRACTITIONER,
    alsoKnownAs: ['Practitioner.Read (R4)'],
    grantedBy: 'scope',
    usedBy: ['scheduling', 'provider-directory'],
    calledByCode: true,
    purpose: 'Read a practitioner by id when a request names the provider by Epic id.',
  },
  {
    name: 'Practitioner.Read (STU3)',
    epicApiId: 499,
    fhirVersion: 'STU3',
    area: PRACTITIONER,
    grantedBy: 'scope',
    usedBy: ['scheduling'],
    calledByCode: false,
    purpose: 'Read the practitioners that $find (STU3) references in proposed appointments.',
  },
  {
    name: 'PractitionerRole.Read (Organizational Directory) (R4)',
    epicApiId: 937,
    fhirVersion: 'R4',
    area: PRACTITIONER,
    grantedBy: 'scope',
    usedBy: ['provider-directory'],
    calledByCode: false,
    purpose: "Read a provider's role, specialty and department.",
  },
  {
    name: 'PractitionerRole.Search (Organizational Directory) (R4)',
    epicApiId: 938,
    fhirVersion: 'R4',
    area: PRACTITIONER,
    grantedBy: 'scope',
    usedBy: ['provider-directory'],
    calledByCode: false,
    purpose: 'List the roles of a provider, or the providers of a department or specialty.',
  },
  // Appointment, Schedule, Slot
  {
    name: EPIC_APIS_CALLED_BY_CODE.appointmentFind,
    epicApiId: 840,
    fhirVersion: 'STU3',
    area: SCHEDULING,
    alsoKnownAs: ['Appointment $find (STU3)'],
    grantedBy: 'organization-configuration',
    usedBy: ['scheduling'],
    calledByCode: true,
    purpose: "Find open slots; Epic answers from the organization's scheduling decision rules.",
  },
  {
    name: 'Appointment.$book (STU3)',
    epicApiId: 839,
    fhirVersion: 'STU3',
    area: SCHEDULING,
    grantedBy: 'organization-configuration',
    usedBy: ['scheduling'],
    calledByCode: false,
    purpose: 'Book a slot that $find proposed (planned; not called yet).',
  },
  {
    name: 'Appointment.Read (Appointments) (STU3)',
    epicApiId: 466,
    fhirVersion: 'STU3',
    area: SCHEDULING,
    grantedBy: 'scope',
    usedBy: ['scheduling'],
    calledByCode: false,
    purpose: 'Read back an appointment after booking.',
  },
  {
    name: 'Appointment.Search (Appointments) (STU3)',
    epicApiId: 10189,
    fhirVersion: 'STU3',
    area: SCHEDULING,
    grantedBy: 'scope',
    usedBy: ['scheduling'],
    calledByCode: false,
    purpose: "List a patient's booked appointments (STU3).",
  },
  {
    name: 'Appointment.Read (Appointments) (R4)',
    epicApiId: 10468,
    fhirVersion: 'R4',
    area: SCHEDULING,
    grantedBy: 'scope',
    usedBy: ['scheduling', 'patient-access'],
    calledByCode: false,
    purpose: 'Read an appointment (R4).',
  },
  {
    name: 'Appointment.Search (Appointments) (R4)',
    epicApiId: 10469,
    fhirVersion: 'R4',
    area: SCHEDULING,
    grantedBy: 'scope',
    usedBy: ['scheduling', 'patient-access'],
    calledByCode: false,
    purpose: "List a patient's upcoming and past appointments (R4).",
  },
  {
    name: 'Slot.Read (STU3)',
    epicApiId: 862,
    fhirVersion: 'STU3',
    area: SCHEDULING,
    grantedBy: 'scope',
    usedBy: ['scheduling'],
    calledByCode: false,
    purpose: 'Read the slots a proposed appointment references.',
  },
  {
    name: 'Schedule.Read (STU3)',
    epicApiId: 500,
    fhirVersion: 'STU3',
    area: SCHEDULING,
    grantedBy: 'scope',
    usedBy: ['scheduling'],
    calledByCode: false,
    purpose: 'Read the provider or department schedule a slot belongs to.',
  },
  // Location
  {
    name: 'Location.Read (Organizational Directory) (R4)',
    epicApiId: 928,
    fhirVersion: 'R4',
    area: 'Location',
    grantedBy: 'scope',
    usedBy: ['scheduling', 'provider-directory'],
    calledByCode: false,
    purpose: 'Name the department or location of a proposed slot.',
  },
  {
    name: 'Location.Search (Organizational Directory) (R4)',
    epicApiId: 10084,
    fhirVersion: 'R4',
    area: 'Location',
    grantedBy: 'scope',
    usedBy: ['scheduling', 'provider-directory'],
    calledByCode: false,
    purpose: 'Find the departments a caller can restrict a slot search to.',
  },
  {
    name: 'Location.Read (STU3)',
    epicApiId: 823,
    fhirVersion: 'STU3',
    area: 'Location',
    grantedBy: 'scope',
    usedBy: ['scheduling'],
    calledByCode: false,
    purpose: 'Read the locations that $find (STU3) references in proposed appointments.',
  },
  // Organization
  {
    name: 'Organization.Read (Organizational Directory) (R4)',
    epicApiId: 929,
    fhirVersion: 'R4',
    area: 'Organization',
    grantedBy: 'scope',
    usedBy: ['provider-directory'],
    calledByCode: false,
    purpose: 'Name the organization a department or provider belongs to.',
  },
  {
    name: 'Organization.Search (Organizational Directory) (R4)',
    epicApiId: 10083,
    fhirVersion: 'R4',
    area: 'Organization',
    grantedBy: 'scope',
    usedBy: ['provider-directory'],
    calledByCode: false,
    purpose: 'List the organizations (service areas, clinics) of the health system.',
  },
  // Patient
  {
    name: 'Patient.Read (Demographics) (R4)',
    epicApiId: 931,
    fhirVersion: 'R4',
    area: 'Patient',
    grantedBy: 'scope',
    usedBy: ['patient-access', 'scheduling'],
    calledByCode: false,
    purpose: "Read the patient's demographics to send with a slot search or booking.",
  },
  {
    name: 'Patient.Search (Demographics) (R4)',
    epicApiId: 932,
    fhirVersion: 'R4',
    area: 'Patient',
    grantedBy: 'scope',
    usedBy: ['patient-access'],
    calledByCode: false,
    purpose: 'Find an existing patient by identifier or demographics.',
  },
  {
    name: 'Patient.$match (Patient Match) (R4)',
    epicApiId: 10423,
    fhirVersion: 'R4',
    area: 'Patient',
    grantedBy: 'scope',
    usedBy: ['patient-access'],
    calledByCode: false,
    purpose: "Match a patient with Epic's patient-matching rules before creating a duplicate.",
  },
  // Coverage
  {
    name: 'Coverage.Read (Patient Insurance Information) (R4)',
    epicApiId: 1076,
    fhirVersion: 'R4',
    area: 'Coverage',
    grantedBy: 'scope',
    usedBy: ['patient-access'],
    calledByCode: false,
    purpose: "Read a patient's insurance coverage.",
  },
  {
    name: 'Coverage.Search (Patient Insurance Information) (R4)',
    epicApiId: 1078,
    fhirVersion: 'R4',
    area: 'Coverage',
    grantedBy: 'scope',
    usedBy: ['patient-access'],
    calledByCode: false,
    purpose: "List a patient's active coverages before scheduling.",
  },
  // Encounter
  {
    name: 'Encounter.Read (Patient Chart) (R4)',
    epicApiId: 908,
    fhirVersion: 'R4',
    area: 'Encounter',
    grantedBy: 'scope',
    usedBy: ['patient-access'],
    calledByCode: false,
    purpose: 'Read the encounter an appointment turned into.',
  },
  {
    name: 'Encounter.Search (Patient Chart) (R4)',
    epicApiId: 909,
    fhirVersion: 'R4',
    area: 'Encounter',
    grantedBy: 'scope',
    usedBy: ['patient-access'],
    calledByCode: false,
    purpose: "List a patient's encounters (e.g. to tell new from established patients).",
  },
];

export interface EpicApiGroup {
  area: string;
  apis: EpicApi[];
}

/** The manifest grouped by catalog area, areas and APIs in manifest order. */
export function groupByArea(manifest: readonly EpicApi[]): EpicApiGroup[] {
  const groups = new Map<string, EpicApi[]>();
  for (const api of manifest) {
    const list = groups.get(api.area);
    if (list) list.push(api);
    else groups.set(api.area, [api]);
  }
  return [...groups].map(([area, apis]) => ({ area, apis }));
}

/** The manifest entry with this catalog name, or with it as one of its other names. */
export function findEpicApi(
  name: string,
  manifest: readonly EpicApi[] = EPIC_API_MANIFEST,
): EpicApi | undefined {
  return manifest.find((api) => api.name === name) ?? manifest.find((api) => api.alsoKnownAs?.includes(name));
}
