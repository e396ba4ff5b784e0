import type { FhirRequestContext } from '../../../../local/epic-simulator/fhir-backend.js';
import type { SchedulingData } from '../../../../local/epic-simulator/scheduling/types.js';

/** Friday 2026-12-04 12:00Z. */
export const NOW = Date.parse('2026-12-04T12:00:00Z');

export const ctx: FhirRequestContext = {
  orgId: 'testorg',
  r4Base: 'http://127.0.0.1:4999/testorg/api/FHIR/R4',
  stu3Base: 'http://127.0.0.1:4999/testorg/api/FHIR/STU3',
  now: NOW,
};

export const SYSTEM = 'urn:oid:1.2.840.114350.1.13.0.1.7.3.999999.11';

export const ALICE = { r4Id: 'eAliceR4', stu3Id: 'TAliceStu3', npi: '1234567893' };
export const BOB = { r4Id: 'eBobR4', stu3Id: 'TBobStu3', npi: '1987654328' };
export const CAROL = { r4Id: 'eCarolR4', stu3Id: 'TCarolStu3', npi: '1456789011' };

/**
 * A small clinic with hand-placed slots so window edges are exact:
 * - Alice (L1, 30-minute slots, visit types 100 and 200): Mon 09:00, 09:30, 10:30 open (10:00
 *   booked); Fri 2026-12-04 09:00 (before NOW) and 12:00 (exactly NOW).
 * - Bob (L2, 30-minute slots, visit type 100): Mon 09:00, Tue 09:00.
 * - Carol (L1, visit type 100) has a schedule but no template for any visit type.
 * - Visit type 300 is in the tree but no provider has a template for it.
 */
export function clinic(overrides: Partial<SchedulingData> = {}): SchedulingData {
  return {
    practitioners: [
      { ...ALICE, family: 'Smith', given: ['Alice'], display: 'Alice Smith, MD' },
      { ...BOB, family: 'Smith', given: ['Bob'], display: 'Bob Smith, MD' },
      { ...CAROL, family: 'Jones', given: ['Carol'], display: 'Carol Jones, DO' },
    ],
    locations: [
      { id: 'L1', name: 'First Clinic' },
      { id: 'L2', name: 'Second Clinic' },
    ],
    visitTypes: [
      { id: 'v30', code: '100', display: 'Office Visit', minutes: 30, providers: [ALICE.stu3Id, BOB.stu3Id] },
      { id: 'v60', code: '200', display: 'Long Visit', minutes: 60, providers: [ALICE.stu3Id] },
      { id: 'vnone', code: '300', display: 'Orphan Visit', minutes: 30, providers: [] },
    ],
    schedules: [
      {
        id: 'alice-l1',
        practitioner: ALICE.stu3Id,
        location: 'L1',
        slotMinutes: 30,
        visitTypeIds: ['v30', 'v60'],
        openSlotStarts: [
          '2026-12-04T09:00:00Z',
          '2026-12-04T12:00:00Z',
          '2026-12-07T09:00:00Z',
          '2026-12-07T09:30:00Z',
          '2026-12-07T10:30:00Z',
        ],
      },
      {
        id: 'bob-l2',
        practitioner: BOB.stu3Id,
        location: 'L2',
        slotMinutes: 30,
        visitTypeIds: ['v30'],
        openSlotStarts: ['2026-12-07T09:00:00Z', '2026-12-08T09:00:00Z'],
      },
      {
        id: 'carol-l1',
        practitioner: CAROL.stu3Id,
        location: 'L1',
        slotMinutes: 30,
        visitTypeIds: ['v30'],
        openSlotStarts: ['2026-12-07T09:00:00Z'],
      },
    ],
    serviceTypeSystem: SYSTEM,
    providerBasedScheduling: false,
    practitionerParameterName: 'practitioner',
    ...overrides,
  };
}

type Param = Record<string, unknown> & { name: string };

export function serviceType(code: string, system = SYSTEM): Param {
  return { name: 'serviceType', valueCodeableConcept: { coding: [{ system, code }] } };
}

export function parameters(start: string, end: string, ...more: Param[]): unknown {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'startTime', valueDateTime: start },
      { name: 'endTime', valueDateTime: end },
      ...more,
    ],
  };
}

// Loose views of the FHIR JSON the backend returns, for assertions.
export interface Entry {
  fullUrl: string;
  resource: Record<string, unknown> & { resourceType: string };
  search?: { mode: string };
}

export interface Bundle {
  resourceType: string;
  type: string;
  total: number;
  entry: Entry[];
}

export interface Issue {
  severity: string;
  code: string;
  details: { coding: Array<{ system: string; code: string; display: string }>; text: string };
  diagnostics?: string;
}

export interface Appointment {
  id: string;
  status: string;
  start: string;
  end: string;
  minutesDuration: number;
  serviceType: Array<{ coding: Array<{ system: string; code: string; display: string }> }>;
  slot: Array<{ reference: string }>;
  contained: Array<{ resourceType: string; id: string; start: string; end: string; status: string }>;
  participant: Array<{ actor: { reference?: string; display?: string } }>;
}

export const asBundle = (body: unknown): Bundle => body as Bundle;

export function appointmentsOf(body: unknown): Appointment[] {
  return asBundle(body)
    .entry.filter((e) => e.resource.resourceType === 'Appointment')
    .map((e) => e.resource as unknown as Appointment);
}

export function outcomeEntries(body: unknown): Entry[] {
  return asBundle(body).entry.filter((e) => e.search?.mode === 'outcome');
}

/** Issues of the Bundle's outcome entry (or of a bare OperationOutcome body). */
export function issuesOf(body: unknown): Issue[] {
  const b = body as { resourceType: string; issue?: Issue[] };
  if (b.resourceType === 'OperationOutcome') return b.issue ?? [];
  return outcomeEntries(body).flatMap((e) => (e.resource as unknown as { issue: Issue[] }).issue);
}

export function epicCodes(body: unknown): string[] {
  return issuesOf(body).flatMap((i) => i.details.coding.map((c) => c.code));
}

/** `<practitioner STU3 id>@<start>` for each proposed appointment, for compact assertions. */
export function offers(body: unknown): string[] {
  return appointmentsOf(body).map((a) => {
    const ref =
      a.participant.map((p) => p.actor.reference ?? '').find((r) => r.includes('/Practitioner/')) ?? '';
    return `${ref.slice(ref.lastIndexOf('/') + 1)}@${a.start}`;
  });
}
