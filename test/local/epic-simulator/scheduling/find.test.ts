import { describe, expect, it } from 'vitest';
import { createSchedulingBackend } from '../../../../local/epic-simulator/scheduling/engine.js';
import { EPIC_ERROR_SYSTEM } from '../../../../local/epic-simulator/scheduling/outcomes.js';
import {
  ALICE,
  appointmentsOf,
  asBundle,
  BOB,
  CAROL,
  clinic,
  ctx,
  epicCodes,
  issuesOf,
  offers,
  outcomeEntries,
  parameters,
  SYSTEM,
  serviceType,
} from './fixtures.js';

const MONDAY = ['2026-12-07T00:00:00Z', '2026-12-08T00:00:00Z'] as const;

describe('Appointment.$find', () => {
  describe('when open slots match the request', () => {
    it('answers a searchset Bundle of proposed appointments shaped like Epic', () => {
      // Arrange
      const backend = createSchedulingBackend(clinic());
      const patient = {
        name: 'patient',
        resource: { resourceType: 'Patient', id: 'ePatient1', name: [{ family: 'Doe', given: ['Pat'] }] },
      };

      // Act
      const res = backend.appointmentFind(parameters(...MONDAY, serviceType('100'), patient), ctx);

      // Assert
      expect(res.status).toBe(200);
      const bundle = asBundle(res.body);
      expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 4 });
      expect(outcomeEntries(res.body)).toEqual([]);
      const [first] = appointmentsOf(res.body);
      const firstEntry = bundle.entry[0]!;
      expect(firstEntry.fullUrl).toBe(`${ctx.stu3Base}/Appointment/${first!.id}`);
      expect(firstEntry.search).toEqual({ mode: 'match' });
      expect(first).toMatchObject({
        resourceType: 'Appointment',
        status: 'proposed',
        start: '2026-12-07T09:00:00Z',
        end: '2026-12-07T09:30:00Z',
        minutesDuration: 30,
        serviceType: [{ coding: [{ system: SYSTEM, code: '100', display: 'Office Visit' }] }],
        slot: [{ reference: '#slot-alice-l1-20261207T0900' }],
        contained: [
          {
            resourceType: 'Slot',
            id: 'slot-alice-l1-20261207T0900',
            status: 'free',
            start: '2026-12-07T09:00:00Z',
            end: '2026-12-07T09:30:00Z',
          },
        ],
      });
      expect(first!.participant.map((p) => p.actor)).toEqual([
        { reference: `${ctx.stu3Base}/Patient/ePatient1`, display: 'Pat Doe' },
        { reference: `${ctx.stu3Base}/Practitioner/${ALICE.stu3Id}`, display: 'Alice Smith, MD' },
        { reference: `${ctx.stu3Base}/Location/L1`, display: 'First Clinic' },
      ]);
    });

    it('sorts proposals by start and skips providers without a template for the visit type', () => {
      // Arrange
      const backend = createSchedulingBackend(clinic());

      // Act
      const res = backend.appointmentFind(parameters(...MONDAY, serviceType('100')), ctx);

      // Assert: Carol has an open 09:00 slot but no template for visit type 100.
      expect(offers(res.body)).toEqual([
        `${ALICE.stu3Id}@2026-12-07T09:00:00Z`,
        `${BOB.stu3Id}@2026-12-07T09:00:00Z`,
        `${ALICE.stu3Id}@2026-12-07T09:30:00Z`,
        `${ALICE.stu3Id}@2026-12-07T10:30:00Z`,
      ]);
    });

    it('gives new appointment ids on every call while slots and times stay the same', () => {
      // Arrange
      const backend = createSchedulingBackend(clinic());
      const body = parameters(...MONDAY, serviceType('100'));

      // Act
      const one = appointmentsOf(backend.appointmentFind(body, ctx).body);
      const two = appointmentsOf(backend.appointmentFind(body, ctx).body);

      // Assert
      const stable = (a: (typeof one)[number]) => ({ ...a, id: undefined });
      expect(two.map(stable)).toEqual(one.map(stable));
      const ids = new Set([...one, ...two].map((a) => a.id));
      expect(ids.size).toBe(one.length + two.length);
    });

    it('books a visit longer than one slot only into consecutive open slots, all contained', () => {
      // Arrange: Alice has 09:00, 09:30 and 10:30 open; 10:00 is booked.
      const backend = createSchedulingBackend(clinic());

      // Act
      const res = backend.appointmentFind(parameters(...MONDAY, serviceType('200')), ctx);

      // Assert
      const appointments = appointmentsOf(res.body);
      expect(appointments).toHaveLength(1);
      expect(appointments[0]).toMatchObject({
        start: '2026-12-07T09:00:00Z',
        end: '2026-12-07T10:00:00Z',
        minutesDuration: 60,
        slot: [{ reference: '#slot-alice-l1-20261207T0900' }, { reference: '#slot-alice-l1-20261207T0930' }],
      });
      expect(appointments[0]!.contained.map((s) => s.id)).toEqual([
        'slot-alice-l1-20261207T0900',
        'slot-alice-l1-20261207T0930',
      ]);
    });

    it('uses the organization default visit type when no serviceType is sent', () => {
      // Arrange
      const backend = createSchedulingBackend(clinic({ defaultServiceTypeCode: '100' }));

      // Act
      const res = backend.appointmentFind(parameters(...MONDAY), ctx);

      // Assert
      expect(appointmentsOf(res.body).map((a) => a.serviceType[0]!.coding[0]!.code)).toEqual([
        '100',
        '100',
        '100',
        '100',
      ]);
    });
  });

  describe('window boundaries', () => {
    const backend = createSchedulingBackend(clinic());
    const find = (start: string, end: string) =>
      offers(backend.appointmentFind(parameters(start, end, serviceType('100')), ctx).body).filter((o) =>
        o.startsWith(ALICE.stu3Id),
      );

    it('includes a slot that starts exactly at startTime and one that ends exactly at endTime', () => {
      expect(find('2026-12-07T09:00:00Z', '2026-12-07T10:00:00Z')).toEqual([
        `${ALICE.stu3Id}@2026-12-07T09:00:00Z`,
        `${ALICE.stu3Id}@2026-12-07T09:30:00Z`,
      ]);
    });

    it('excludes a slot that starts before startTime or ends after endTime', () => {
      expect(find('2026-12-07T09:01:00Z', '2026-12-07T10:29:00Z')).toEqual([
        `${ALICE.stu3Id}@2026-12-07T09:30:00Z`,
      ]);
    });

    it('excludes a slot that starts exactly at endTime', () => {
      expect(find('2026-12-07T08:00:00Z', '2026-12-07T09:00:00Z')).toEqual([]);
    });

    it('treats a date-only endTime as the whole day', () => {
      expect(find('2026-12-07', '2026-12-07')).toHaveLength(3);
    });

    it('accepts a time with a non-UTC zone', () => {
      expect(find('2026-12-07T04:00:00-05:00', '2026-12-07T04:30:00-05:00')).toEqual([
        `${ALICE.stu3Id}@2026-12-07T09:00:00Z`,
      ]);
    });
  });

  describe('when slots are in the past', () => {
    it('proposes only slots that start at or after the simulator clock', () => {
      // Arrange: Alice has Friday 09:00 (before NOW) and 12:00 (exactly NOW) open.
      const backend = createSchedulingBackend(clinic());

      // Act
      const res = backend.appointmentFind(
        parameters('2026-12-04T00:00:00Z', '2026-12-05T00:00:00Z', serviceType('100')),
        ctx,
      );

      // Assert
      expect(offers(res.body)).toEqual([`${ALICE.stu3Id}@2026-12-04T12:00:00Z`]);
    });
  });

  describe('when nothing is open', () => {
    it('answers 200 with only an outcome entry carrying 4101', () => {
      // Arrange
      const backend = createSchedulingBackend(clinic());

      // Act
      const res = backend.appointmentFind(
        parameters('2026-12-09T00:00:00Z', '2026-12-10T00:00:00Z', serviceType('100')),
        ctx,
      );

      // Assert
      expect(res.status).toBe(200);
      const bundle = asBundle(res.body);
      expect(bundle.total).toBe(0);
      expect(bundle.entry).toHaveLength(1);
      expect(bundle.entry[0]).toMatchObject({
        search: { mode: 'outcome' },
        resource: { resourceType: 'OperationOutcome' },
      });
      expect(issuesOf(res.body)).toEqual([
        expect.objectContaining({
          severity: 'warning',
          details: expect.objectContaining({
            coding: [expect.objectContaining({ system: EPIC_ERROR_SYSTEM, code: '4101' })],
          }),
        }),
      ]);
    });
  });

  describe('when the decision tree does not know the serviceType', () => {
    it('answers 59200 and no appointments for an unknown code', () => {
      const backend = createSchedulingBackend(clinic());
      const res = backend.appointmentFind(parameters(...MONDAY, serviceType('999')), ctx);
      expect(res.status).toBe(200);
      expect(appointmentsOf(res.body)).toEqual([]);
      expect(epicCodes(res.body)).toEqual(['59200', '4101']);
    });

    it('answers 59200 for a known code in another coding system', () => {
      const backend = createSchedulingBackend(clinic());
      const res = backend.appointmentFind(parameters(...MONDAY, serviceType('100', 'urn:oid:1.2.3')), ctx);
      expect(appointmentsOf(res.body)).toEqual([]);
      expect(epicCodes(res.body)).toEqual(['59200', '4101']);
    });

    it('answers 59200 when no serviceType is sent and the tree has no default', () => {
      const backend = createSchedulingBackend(clinic());
      const res = backend.appointmentFind(parameters(...MONDAY), ctx);
      expect(epicCodes(res.body)).toEqual(['59200', '4101']);
    });
  });

  describe('when the visit type has no provider templates', () => {
    it('answers 59134 naming the provider pool, with 4101', () => {
      // Arrange
      const backend = createSchedulingBackend(clinic());

      // Act
      const res = backend.appointmentFind(parameters(...MONDAY, serviceType('300')), ctx);

      // Assert
      expect(appointmentsOf(res.body)).toEqual([]);
      expect(epicCodes(res.body)).toEqual(['59134', '4101']);
      expect(issuesOf(res.body)[0]).toMatchObject({
        severity: 'warning',
        diagnostics: 'Not enough providers with templates in ORPHAN VISIT PROVIDERS for ORPHAN VISIT.',
      });
    });
  });

  describe('when the request has a parameter Epic does not know', () => {
    it('still proposes slots and reports the ignored parameter with 59109', () => {
      // Arrange
      const backend = createSchedulingBackend(clinic());

      // Act
      const res = backend.appointmentFind(
        parameters(...MONDAY, serviceType('100'), { name: 'service-type', valueString: 'x' }),
        ctx,
      );

      // Assert
      expect(appointmentsOf(res.body)).toHaveLength(4);
      expect(epicCodes(res.body)).toEqual(['59109']);
      expect(issuesOf(res.body)[0]).toMatchObject({ severity: 'information' });
      expect(issuesOf(res.body)[0]!.diagnostics).toContain('service-type');
    });
  });

  describe('practitioner hint', () => {
    const hint = (valueReference: Record<string, unknown>) => ({ name: 'practitioner', valueReference });

    it('is ignored with 59109 and every provider comes back when provider-based scheduling is off', () => {
      // Arrange
      const backend = createSchedulingBackend(clinic({ providerBasedScheduling: false }));

      // Act
      const res = backend.appointmentFind(
        parameters(...MONDAY, serviceType('100'), hint({ reference: `Practitioner/${BOB.stu3Id}` })),
        ctx,
      );

      // Assert
      expect(epicCodes(res.body)).toEqual(['59109']);
      expect(issuesOf(res.body)[0]!.diagnostics).toContain('practitioner');
      expect(new Set(offers(res.body).map((o) => o.split('@')[0]))).toEqual(
        new Set([ALICE.stu3Id, BOB.stu3Id]),
      );
    });

    it.each([
      ['an absolute reference', { reference: `${ctx.stu3Base}/Practitioner/${BOB.stu3Id}` }],
      ['a relative reference', { reference: `Practitioner/${BOB.stu3Id}` }],
      ['an NPI identifier', { identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: BOB.npi } }],
      [
        'an R4 id reference with the NPI identifier',
        {
          reference: `Practitioner/${BOB.r4Id}`,
          identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: BOB.npi },
        },
      ],
    ])('restricts to that provider when provider-based scheduling is on (%s)', (_label, valueReference) => {
      // Arrange
      const backend = createSchedulingBackend(clinic({ providerBasedScheduling: true }));

      // Act
      const res = backend.appointmentFind(
        parameters(...MONDAY, serviceType('100'), hint(valueReference)),
        ctx,
      );

      // Assert
      expect(offers(res.body)).toEqual([`${BOB.stu3Id}@2026-12-07T09:00:00Z`]);
      expect(outcomeEntries(res.body)).toEqual([]);
    });

    it('answers 59144 and no appointments for a practitioner it cannot resolve', () => {
      // Arrange: an R4 id alone does not resolve on STU3.
      const backend = createSchedulingBackend(clinic({ providerBasedScheduling: true }));

      // Act
      const res = backend.appointmentFind(
        parameters(...MONDAY, serviceType('100'), hint({ reference: `Practitioner/${BOB.r4Id}` })),
        ctx,
      );

      // Assert
      expect(appointmentsOf(res.body)).toEqual([]);
      expect(epicCodes(res.body)).toEqual(['59144']);
    });

    it('answers 59134 when the asked provider has no template for the visit type', () => {
      const backend = createSchedulingBackend(clinic({ providerBasedScheduling: true }));
      const res = backend.appointmentFind(
        parameters(...MONDAY, serviceType('100'), hint({ reference: `Practitioner/${CAROL.stu3Id}` })),
        ctx,
      );
      expect(appointmentsOf(res.body)).toEqual([]);
      expect(epicCodes(res.body)).toEqual(['59134', '4101']);
    });

    it('honours the parameter name the organization configured', () => {
      // Arrange
      const backend = createSchedulingBackend(
        clinic({ providerBasedScheduling: true, practitionerParameterName: 'provider-reference' }),
      );
      const body = parameters(...MONDAY, serviceType('100'), {
        name: 'provider-reference',
        valueReference: { reference: `Practitioner/${ALICE.stu3Id}` },
      });

      // Act
      const res = backend.appointmentFind(body, ctx);

      // Assert
      expect(new Set(offers(res.body).map((o) => o.split('@')[0]))).toEqual(new Set([ALICE.stu3Id]));
    });
  });

  describe('location-reference', () => {
    const backend = createSchedulingBackend(clinic());
    const at = (reference: string) => ({ name: 'location-reference', valueReference: { reference } });

    it('restricts proposals to the location named by an absolute reference', () => {
      const res = backend.appointmentFind(
        parameters(...MONDAY, serviceType('100'), at(`${ctx.stu3Base}/Location/L2`)),
        ctx,
      );
      expect(offers(res.body)).toEqual([`${BOB.stu3Id}@2026-12-07T09:00:00Z`]);
      expect(appointmentsOf(res.body)[0]!.participant.at(-1)!.actor).toEqual({
        reference: `${ctx.stu3Base}/Location/L2`,
        display: 'Second Clinic',
      });
    });

    it('ignores a relative reference with 59109 and searches every location', () => {
      const res = backend.appointmentFind(parameters(...MONDAY, serviceType('100'), at('Location/L2')), ctx);
      expect(epicCodes(res.body)).toEqual(['59109']);
      expect(appointmentsOf(res.body)).toHaveLength(4);
    });

    it('answers 59144 and no appointments for an unknown location id', () => {
      const res = backend.appointmentFind(
        parameters(...MONDAY, serviceType('100'), at(`${ctx.stu3Base}/Location/NOPE`)),
        ctx,
      );
      expect(res.status).toBe(200);
      expect(appointmentsOf(res.body)).toEqual([]);
      expect(epicCodes(res.body)).toEqual(['59144']);
      expect(issuesOf(res.body)[0]!.severity).toBe('fatal');
    });
  });

  describe('when the body is not a usable Parameters resource', () => {
    const backend = createSchedulingBackend(clinic());

    it.each([
      ['null', null],
      ['an array', []],
      ['another resource', { resourceType: 'Patient', parameter: [] }],
      ['parameter not an array', { resourceType: 'Parameters', parameter: {} }],
      [
        'a parameter without a name',
        { resourceType: 'Parameters', parameter: [{ valueDateTime: '2026-12-07' }] },
      ],
    ])('answers 400 with an OperationOutcome carrying 59105 (%s)', (_label, body) => {
      const res = backend.appointmentFind(body, ctx);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ resourceType: 'OperationOutcome' });
      expect(epicCodes(res.body)).toEqual(['59105']);
    });

    it('answers 400 with 59108 when endTime is missing', () => {
      const res = backend.appointmentFind(
        { resourceType: 'Parameters', parameter: [{ name: 'startTime', valueDateTime: MONDAY[0] }] },
        ctx,
      );
      expect(res.status).toBe(400);
      expect(epicCodes(res.body)).toEqual(['59108']);
      expect(issuesOf(res.body)[0]!.diagnostics).toContain('endTime');
    });

    it.each([
      ['startTime is not a dateTime', 'next monday', MONDAY[1]],
      ['a time has no zone', '2026-12-07T08:00:00', MONDAY[1]],
      ['startTime has no seconds', '2026-12-07T08:00Z', MONDAY[1]],
      ['endTime has no seconds', MONDAY[0], '2026-12-07T17:00-05:00'],
      ['endTime is before startTime', MONDAY[1], MONDAY[0]],
    ])('answers 400 with 59111 when %s', (_label, start, end) => {
      const res = backend.appointmentFind(parameters(start, end), ctx);
      expect(res.status).toBe(400);
      expect(epicCodes(res.body)).toEqual(['59111']);
    });
  });
});
