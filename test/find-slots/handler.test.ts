import { describe, expect, it } from 'vitest';
import { createFindSlotsHandler } from '../../functions/find-slots/handler.js';
import { tenantConfig, testDeps } from '../core/scheduling/support/fakes.js';
import { captureLogs } from '../helpers/log-capture.js';
import { apiEvent, handlerDeps, invoke, recordingEpic } from './support.js';

const VALID = { tenant: 'sandbox', start: '2026-12-07T08:00:00Z', end: '2026-12-07T17:00:00Z' };

describe('find-slots handler', () => {
  it('answers 200 with the slots body and no-store', async () => {
    const epic = recordingEpic();
    const handler = createFindSlotsHandler(handlerDeps(epic));

    const res = await invoke(
      handler,
      apiEvent(JSON.stringify({ ...VALID, provider: { name: 'Jane Smith' } })),
    );

    expect(res.status).toBe(200);
    expect(res.headers['Cache-Control']).toBe('no-store');
    expect(res.body).toMatchObject({
      tenant: 'sandbox',
      window: { start: VALID.start, end: VALID.end },
      provider: { id: 'r4-jane', name: 'Jane Smith, MD' },
      slots: [],
    });
    expect((res.body.diagnostics as Array<{ code: string }>).map((d) => d.code)).toEqual([
      'parameter-ignored',
      'no-open-slots',
    ]);
  });

  it('sends $find the exact Epic parameter names, the tenant OID and an absolute STU3 location', async () => {
    const epic = recordingEpic();
    const handler = createFindSlotsHandler(handlerDeps(epic));

    await invoke(
      handler,
      apiEvent(
        JSON.stringify({
          ...VALID,
          location: { id: 'loc1' },
          serviceType: { code: '95014' },
          patient: { id: 'pat1' },
        }),
      ),
    );

    const find = epic.calls.find((c) => c.url.endsWith('/Appointment/$find'))!;
    expect(find.url).toBe('http://127.0.0.1:9/sandbox/api/FHIR/STU3/Appointment/$find');
    expect(find.body).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'startTime', valueDateTime: VALID.start },
        { name: 'endTime', valueDateTime: VALID.end },
        {
          name: 'serviceType',
          valueCodeableConcept: {
            coding: [
              {
                system: 'urn:oid:1.2.840.114350.1.13.0.1.7.3.808267.11',
                code: '95014',
                display: 'Office Visit',
              },
            ],
          },
        },
        {
          name: 'location-reference',
          valueReference: { reference: 'http://127.0.0.1:9/sandbox/api/FHIR/STU3/Location/loc1' },
        },
        { name: 'patient', resource: { resourceType: 'Patient', id: 'pat1' } },
      ],
    });
  });

  it.each([
    [
      true,
      [
        {
          name: 'practitioner',
          valueReference: {
            reference: 'http://127.0.0.1:9/sandbox/api/FHIR/R4/Practitioner/r4-jane',
            identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' },
            display: 'Jane Smith, MD',
          },
        },
      ],
    ],
    [false, []],
  ])(
    'with providerBasedScheduling %s sends the practitioner hint %j',
    async (providerBasedScheduling, hint) => {
      const epic = recordingEpic();
      const deps = testDeps([tenantConfig('http://127.0.0.1:9', { providerBasedScheduling })], {
        fetch: epic.fetch,
      });
      const handler = createFindSlotsHandler(deps);

      await invoke(handler, apiEvent(JSON.stringify({ ...VALID, provider: { name: 'Jane Smith' } })));

      const find = epic.calls.find((c) => c.url.endsWith('/Appointment/$find'))!;
      const params = (find.body as { parameter: Array<{ name: string }> }).parameter;
      expect(params.filter((p) => p.name === 'practitioner')).toEqual(hint);
    },
  );

  it('refuses a body over the size limit with 413 before parsing or calling Epic', async () => {
    const epic = recordingEpic();
    const handler = createFindSlotsHandler(handlerDeps(epic));

    const res = await invoke(
      handler,
      apiEvent(JSON.stringify({ ...VALID, provider: { name: 'x'.repeat(9000) } })),
    );

    expect(res.status).toBe(413);
    expect(res.body.error).toBe('body_too_large');
    expect(epic.calls).toEqual([]);
  });

  describe("when Epic's OperationOutcome text echoes patient details", () => {
    const PATIENT_TEXT = 'Patient DOE, JOHNATHAN (MRN 4471-2290) has no coverage';
    const outcome = (severity: string) => ({
      resourceType: 'OperationOutcome',
      issue: [{ severity, code: 'processing', details: { coding: [{ code: '59999' }], text: PATIENT_TEXT } }],
    });
    const epicAnswering = (status: number, body: unknown): typeof fetch =>
      (async () =>
        new Response(JSON.stringify(body), {
          status,
          headers: { 'content-type': 'application/fhir+json' },
        })) as typeof fetch;

    it.each([
      ['an error answer (HTTP 400)', 400, outcome('fatal'), 502],
      [
        'an outcome entry of a 200 Bundle',
        200,
        {
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [{ resource: outcome('warning'), search: { mode: 'outcome' } }],
        },
        200,
      ],
    ])(
      'keeps Epic code 59999 but puts the text in neither the body nor a log line, for %s',
      async (_label, status, body, expected) => {
        const logs = captureLogs();
        const deps = testDeps([tenantConfig('http://127.0.0.1:9')], { fetch: epicAnswering(status, body) });
        let res: Awaited<ReturnType<typeof invoke>>;
        try {
          res = await invoke(createFindSlotsHandler(deps), apiEvent(JSON.stringify(VALID)));
        } finally {
          logs.restore();
        }

        expect(res.status).toBe(expected);
        expect(JSON.stringify(res.body)).toContain('59999');
        expect(JSON.stringify(res.body)).not.toContain('JOHNATHAN');
        expect(logs.text()).not.toContain('JOHNATHAN');
        expect(JSON.stringify(deps.logLines)).not.toContain('JOHNATHAN');
        expect(deps.logLines.length).toBeGreaterThan(0);
      },
    );
  });

  it('never logs the patient id', async () => {
    const epic = recordingEpic();
    const deps = handlerDeps(epic);
    const handler = createFindSlotsHandler(deps);

    await invoke(handler, apiEvent(JSON.stringify({ ...VALID, patient: { id: 'PATIENT-MARKER-42' } })));

    expect(epic.calls.some((c) => JSON.stringify(c.body).includes('PATIENT-MARKER-42'))).toBe(true);
    expect(JSON.stringify(deps.logLines)).not.toContain('PATIENT-MARKER-42');
  });
});
