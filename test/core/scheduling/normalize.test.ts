import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  filterAppointments,
  parseReference,
  readFindBundle,
  toSlots,
} from '../../../functions/core/scheduling/normalize.js';
import type { ResolvedProvider } from '../../../functions/core/scheduling/provider-resolution.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

const SYSTEM = 'urn:oid:1.2.840.114350.1.13.0.1.7.3.808267.11';
const WINDOW = { startMs: Date.parse('2026-12-07T00:00:00Z'), endMs: Date.parse('2026-12-12T00:00:00Z') };

/** Jane Smith as the R4 Practitioner search returns her: a different id than on STU3. */
const JANE: ResolvedProvider = {
  id: 'eQ1xW7vJm0pAsm1th.Jn3',
  name: 'Jane Smith, MD',
  npi: '1234567893',
  family: 'smith',
  given: ['jane'],
};

describe('parseReference', () => {
  it.each([
    ['Practitioner/abc', { type: 'Practitioner', id: 'abc' }],
    [
      'https://fhir.example.org/api/FHIR/STU3/Practitioner/TsJ4nE9k.Q2-3',
      { type: 'Practitioner', id: 'TsJ4nE9k.Q2-3' },
    ],
    ['https://fhir.example.org/api/FHIR/STU3/Location/e4W4/_history/2', { type: 'Location', id: 'e4W4' }],
    ['Slot/slot-1', { type: 'Slot', id: 'slot-1' }],
  ])('reads %s', (reference, expected) => {
    expect(parseReference(reference)).toEqual(expected);
  });

  it.each(['#1', 'urn:uuid:1234', '', 'https://fhir.example.org/api/FHIR/STU3/'])(
    'has nothing to read in "%s"',
    (reference) => {
      expect(parseReference(reference)).toBeUndefined();
    },
  );
});

describe('readFindBundle', () => {
  describe('with absolute references and contained Slots', () => {
    it('turns each proposed Appointment into a slot with provider, location, service type and slot ids', () => {
      const bundle = readFindBundle(fixture('find-absolute-contained.json'));

      const slots = toSlots(filterAppointments(bundle.appointments, { window: WINDOW }).kept, {
        serviceTypeSystem: SYSTEM,
        limit: 50,
      });

      expect(slots).toEqual([
        {
          start: '2026-12-07T14:00:00Z',
          end: '2026-12-07T14:30:00Z',
          minutes: 30,
          provider: { id: 'TjH0nR4tY6w1cPxD5eMq2Kb3', name: 'Smith, John R MD' },
          location: { id: 'eR1vErS1dE7cL1n1cL0c8Qw3', name: 'Riverside Medical Center' },
          serviceType: { system: SYSTEM, code: '95014', display: 'Office Visit' },
          appointmentId: 'eMsV0Cyn5lRtU4UqqIe3sQ3',
          slotIds: ['1'],
        },
        {
          start: '2026-12-07T15:00:00Z',
          end: '2026-12-07T15:30:00Z',
          minutes: 30,
          provider: { id: 'TsJ4nE9kQ2v7bLmR8cUa0Wg3', name: 'Smith, Jane MD' },
          location: { id: 'e4W4bGmhBQbLmQ5dC9BPh1g3', name: 'Main Street Family Medicine' },
          serviceType: { system: SYSTEM, code: '95014', display: 'Office Visit' },
          appointmentId: 'eBzFUwnjYxs5cAnalSGwPRw3',
          slotIds: ['1'],
        },
        {
          start: '2026-12-08T09:00:00Z',
          end: '2026-12-08T10:00:00Z',
          minutes: 60,
          provider: { id: 'TsJ4nE9kQ2v7bLmR8cUa0Wg3', name: 'Smith, Jane MD' },
          location: { id: 'e4W4bGmhBQbLmQ5dC9BPh1g3', name: 'Main Street Family Medicine' },
          serviceType: { system: SYSTEM, code: '95015', display: 'New Patient Visit' },
          appointmentId: 'eQwErTy7uIoP5aSdFgHjK3',
          slotIds: ['1', '2'],
        },
      ]);
    });

    it('keeps the outcome issues apart from the appointments', () => {
      const bundle = readFindBundle(fixture('find-absolute-contained.json'));

      expect(bundle.appointments).toHaveLength(3);
      expect(bundle.issues).toEqual([
        {
          severity: 'information',
          code: 'value',
          epicCodes: ['59109'],
          text: 'An optional parameter was invalid.',
        },
      ]);
    });
  });

  describe('with relative references', () => {
    it('reads Slot references, computes missing ends from minutesDuration and minutes from the times', () => {
      const bundle = readFindBundle(fixture('find-relative-refs.json'));

      const slots = toSlots(filterAppointments(bundle.appointments, { window: WINDOW }).kept, {
        serviceTypeSystem: SYSTEM,
        limit: 50,
      });

      expect(bundle.malformed).toBe(1);
      expect(slots.map((s) => [s.start, s.end, s.minutes, s.slotIds, s.appointmentId])).toEqual([
        ['2026-12-09T15:00:00-05:00', '2026-12-09T20:20:00.000Z', 20, ['slot-akhan-20261209T2000'], 'eTmp1'],
        ['2026-12-09T16:00:00-05:00', '2026-12-09T16:20:00-05:00', 20, ['slot-akhan-20261209T2100'], 'eTmp2'],
      ]);
      expect(slots[0]!.serviceType).toEqual({ system: null, code: '95016', display: 'Telehealth Follow-up' });
      expect(slots[1]!.serviceType).toBeNull();
      expect(slots[1]!.provider).toEqual({ id: 'TaK9hN3mE1r6sJwF7tQx5Vc3', name: 'Khan, Ahmed MD' });
    });
  });

  describe('with an outcome-only Bundle', () => {
    it('has no appointments and the 4101 issue', () => {
      const bundle = readFindBundle(fixture('find-outcome-only-4101.json'));

      expect(bundle.appointments).toEqual([]);
      expect(bundle.issues.map((i) => i.epicCodes)).toEqual([['4101']]);
    });
  });

  it('reads a bare OperationOutcome as issues only', () => {
    const bundle = readFindBundle({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'warning', code: 'processing', details: { coding: [{ code: '4101' }] } }],
    });

    expect(bundle).toEqual({
      appointments: [],
      malformed: 0,
      issues: [{ severity: 'warning', code: 'processing', epicCodes: ['4101'] }],
    });
  });
});

describe('filterAppointments', () => {
  const absolute = () => readFindBundle(fixture('find-absolute-contained.json')).appointments;

  it('keeps only the asked-for provider, matching by name when the STU3 ids differ from R4', () => {
    const result = filterAppointments(absolute(), { provider: JANE, window: WINDOW });

    expect(result.kept.map((k) => k.appointment.appointmentId)).toEqual([
      'eBzFUwnjYxs5cAnalSGwPRw3',
      'eQwErTy7uIoP5aSdFgHjK3',
    ]);
  });

  it('matches by id alone when the ids are the same in both FHIR versions', () => {
    const sameIds: ResolvedProvider = { ...JANE, id: 'TjH0nR4tY6w1cPxD5eMq2Kb3', name: 'Jane Smith' };

    const result = filterAppointments(absolute(), { provider: sameIds, window: WINDOW });

    // The id belongs to John's slot: ids decide, Jane's name no longer widens the match.
    expect(result.kept.map((k) => k.appointment.appointmentId)).toEqual(['eMsV0Cyn5lRtU4UqqIe3sQ3']);
  });

  it('matches by NPI when the participant carries one', () => {
    const khan: ResolvedProvider = {
      id: 'r4-khan',
      name: 'Ahmed Khan',
      npi: '1678901231',
      family: 'other',
      given: [],
    };

    const result = filterAppointments(readFindBundle(fixture('find-relative-refs.json')).appointments, {
      provider: khan,
      window: WINDOW,
    });

    expect(result.kept.map((k) => k.appointment.appointmentId)).toEqual(['eTmp2']);
  });

  it('keeps only the asked-for location and service type', () => {
    const result = filterAppointments(absolute(), {
      locationId: 'e4W4bGmhBQbLmQ5dC9BPh1g3',
      serviceType: { system: SYSTEM, code: '95014' },
      window: WINDOW,
    });

    expect(result.kept.map((k) => k.appointment.appointmentId)).toEqual(['eBzFUwnjYxs5cAnalSGwPRw3']);
    expect(result).toMatchObject({ afterWindow: 3, afterServiceType: 2, afterLocation: 1 });
  });

  it('drops proposals that start outside the window', () => {
    const result = filterAppointments(absolute(), {
      window: { startMs: Date.parse('2026-12-08T00:00:00Z'), endMs: Date.parse('2026-12-09T00:00:00Z') },
    });

    expect(result.kept.map((k) => k.appointment.appointmentId)).toEqual(['eQwErTy7uIoP5aSdFgHjK3']);
  });
});

describe('toSlots', () => {
  it('sorts by start and cuts at the limit', () => {
    const kept = filterAppointments(readFindBundle(fixture('find-absolute-contained.json')).appointments, {
      window: WINDOW,
    }).kept.reverse();

    const slots = toSlots(kept, { serviceTypeSystem: SYSTEM, limit: 2 });

    expect(slots.map((s) => s.start)).toEqual(['2026-12-07T14:00:00Z', '2026-12-07T15:00:00Z']);
  });
});
