import { describe, expect, it } from 'vitest';
import {
  createSchedulingBackend,
  validateSchedulingData,
} from '../../../../local/epic-simulator/scheduling/engine.js';
import { isValidNpi, withNpiCheckDigit } from '../../../../local/epic-simulator/scheduling/npi.js';
import {
  DEFAULT_PRACTITIONER_PARAMETER,
  defaultSchedulingData,
  nextWeekMonday,
  SEED_LOCATIONS,
  SEED_PRACTITIONERS,
  SEED_SERVICE_TYPE_SYSTEM,
  SEED_SERVICE_TYPES,
} from '../../../../local/epic-simulator/scheduling/seed.js';
import { appointmentsOf, ctx, epicCodes, NOW, offers, parameters } from './fixtures.js';

describe('NPI check digits', () => {
  it('accepts the CMS example NPI and rejects a wrong check digit', () => {
    expect(withNpiCheckDigit('123456789')).toBe('1234567893');
    expect(isValidNpi('1234567893')).toBe(true);
    expect(isValidNpi('1234567894')).toBe(false);
  });
});

describe('defaultSchedulingData', () => {
  it('gives every seeded practitioner a valid NPI and different R4 and STU3 ids', () => {
    for (const p of Object.values(SEED_PRACTITIONERS)) {
      expect(isValidNpi(p.npi), p.display).toBe(true);
      expect(p.r4Id).not.toBe(p.stu3Id);
    }
  });

  it('is valid and deterministic for a given clock', () => {
    const data = defaultSchedulingData({ now: NOW });
    expect(validateSchedulingData(data)).toEqual([]);
    expect(defaultSchedulingData({ now: NOW })).toEqual(data);
    expect(data).toMatchObject({
      serviceTypeSystem: SEED_SERVICE_TYPE_SYSTEM,
      providerBasedScheduling: false,
      practitionerParameterName: DEFAULT_PRACTITIONER_PARAMETER,
    });
    expect(defaultSchedulingData({ now: NOW, providerBasedScheduling: true }).providerBasedScheduling).toBe(
      true,
    );
  });

  it.each([
    ['a Friday', '2026-12-04T12:00:00Z', '2026-12-07T00:00:00.000Z'],
    ['a Sunday', '2026-12-06T23:59:00Z', '2026-12-07T00:00:00.000Z'],
    ['a Monday', '2026-12-07T00:00:00Z', '2026-12-14T00:00:00.000Z'],
  ])('lays slots on the calendar week after %s', (_label, now, monday) => {
    expect(new Date(nextWeekMonday(Date.parse(now))).toISOString()).toBe(monday);
  });

  it('puts open slots only on weekdays of next week, with some already booked', () => {
    const data = defaultSchedulingData({ now: NOW });
    const starts = data.schedules.flatMap((s) => s.openSlotStarts.map((t) => new Date(t)));
    expect(starts.every((d) => d >= new Date('2026-12-07') && d < new Date('2026-12-12'))).toBe(true);
    expect(starts.every((d) => d.getUTCDay() >= 1 && d.getUTCDay() <= 5)).toBe(true);
    const jane = data.schedules.find((s) => s.practitioner === SEED_PRACTITIONERS.janeSmith.stu3Id)!;
    // 5 days x 12 half-hour slots, minus the booked ones.
    expect(jane.openSlotStarts.length).toBeGreaterThan(40);
    expect(jane.openSlotStarts.length).toBeLessThan(60);
  });
});

describe('the default clinic through $find', () => {
  const data = defaultSchedulingData({ now: NOW });
  const backend = createSchedulingBackend(data);
  const st = (code: string) => ({
    name: 'serviceType',
    valueCodeableConcept: { coding: [{ system: SEED_SERVICE_TYPE_SYSTEM, code: code }] },
  });

  it("offers Dr. Jane Smith's Office Visit slots at Main Street next Monday", () => {
    // Act
    const res = backend.appointmentFind(
      parameters('2026-12-07T08:00:00Z', '2026-12-07T17:00:00Z', st(SEED_SERVICE_TYPES.officeVisit), {
        name: 'location-reference',
        valueReference: { reference: `${ctx.stu3Base}/Location/${SEED_LOCATIONS.mainStreet.id}` },
      }),
      ctx,
    );

    // Assert
    const jane = offers(res.body).filter((o) => o.startsWith(SEED_PRACTITIONERS.janeSmith.stu3Id));
    expect(jane[0]).toBe(`${SEED_PRACTITIONERS.janeSmith.stu3Id}@2026-12-07T09:00:00Z`);
    expect(jane.length).toBeGreaterThan(5);
  });

  it('answers 59134 for the service type nobody has a template for', () => {
    const res = backend.appointmentFind(
      parameters('2026-12-07', '2026-12-11', st(SEED_SERVICE_TYPES.sportsPhysicalNoTemplates)),
      ctx,
    );
    expect(appointmentsOf(res.body)).toEqual([]);
    expect(epicCodes(res.body)).toEqual(['59134', '4101']);
  });

  it('offers 20-minute telehealth and 60-minute new patient visits', () => {
    const tele = appointmentsOf(
      backend.appointmentFind(
        parameters('2026-12-07', '2026-12-11', st(SEED_SERVICE_TYPES.telehealthFollowUp)),
        ctx,
      ).body,
    );
    const fresh = appointmentsOf(
      backend.appointmentFind(
        parameters('2026-12-07', '2026-12-11', st(SEED_SERVICE_TYPES.newPatientVisit)),
        ctx,
      ).body,
    );
    expect(tele.length).toBeGreaterThan(0);
    expect(tele.every((a) => a.minutesDuration === 20)).toBe(true);
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.every((a) => a.minutesDuration === 60 && a.slot.length === 2)).toBe(true);
  });
});

describe('createSchedulingBackend', () => {
  it('refuses data with dangling references and says which', () => {
    const data = defaultSchedulingData({ now: NOW });
    data.schedules[0]!.location = 'nowhere';
    expect(() => createSchedulingBackend(data)).toThrow(/unknown location nowhere/);
  });
});
