import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFindSlotsHandler } from '../../functions/find-slots/handler.js';
import { apiEvent, handlerDeps, invoke, recordingEpic } from './support.js';

/**
 * Whatever the body, the route never answers 5xx, and a body it refuses never reaches Epic (no
 * token asked for, no FHIR call). Valid bodies do reach the (fake) Epic and answer 200.
 */
const VALIDATION_CODES = new Set([
  'invalid_input',
  'invalid_json',
  'unknown_tenant',
  'body_too_large',
  'unsupported_media_type',
]);

const isoDate = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

const dateTimeish = fc.oneof(
  isoDate,
  isoDate.map((s) => s.replace('Z', '+05:30')),
  isoDate.map((s) => s.slice(0, 19)),
  isoDate.map((s) => s.slice(0, 10)),
  fc.constantFrom('2026-02-30T10:00:00Z', '2026-12-07T24:00:00Z', 'tomorrow', '', '2026-12-07T08:00:00Z'),
  fc.integer(),
  fc.constant(null),
);

const npiish = fc.oneof(
  fc.constantFrom('1234567893', '1245319599', '1234567890', '123456789'),
  fc.stringMatching(/^\d{10}$/),
  fc.integer({ min: 0, max: 9_999_999_999 }),
);

const provider = fc.oneof(
  fc.record({
    name: fc.oneof(fc.string({ maxLength: 120 }), fc.constantFrom('Jane Smith', 'Smith, Jane', 'Smith')),
  }),
  fc.record({ id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9.-]{1,70}$/), fc.string({ maxLength: 80 })) }),
  fc.record({ npi: npiish }),
  fc.record({ name: fc.constant('Jane Smith'), npi: npiish }),
  fc.record({}),
  fc.jsonValue({ maxDepth: 2 }),
);

const idObject = fc.oneof(
  fc.record({ id: fc.stringMatching(/^[A-Za-z0-9.-]{1,64}$/) }),
  fc.record({ id: fc.string({ maxLength: 70 }) }),
  fc.jsonValue({ maxDepth: 2 }),
);

const serviceType = fc.oneof(
  fc.record({ code: fc.constantFrom('95014', '95015', '99999', '') }),
  fc.record({
    code: fc.constant('95014'),
    system: fc.constantFrom('urn:oid:1.2.840.114350.1.13.0.1.7.3.808267.11', 'urn:oid:1.2'),
  }),
  fc.jsonValue({ maxDepth: 2 }),
);

const limit = fc.oneof(
  fc.integer({ min: -5, max: 600 }),
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.constant(null),
);

/** Bodies near the contract (so many are valid), with sometimes an unknown field. */
const nearValid = fc
  .record(
    {
      tenant: fc.oneof(
        fc.constantFrom('sandbox', 'sandbox', 'other', 'SANDBOX', ''),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      start: dateTimeish,
      end: dateTimeish,
      provider,
      location: idObject,
      serviceType,
      patient: idObject,
      limit,
      extra: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  )
  .map((body) => JSON.stringify(body));

const validProvider = fc.oneof(
  fc.record({ name: fc.constantFrom('Jane Smith', 'Smith, Jane', 'Smith', 'Dr. José Núñez') }),
  fc.record({ id: fc.stringMatching(/^[A-Za-z0-9-][A-Za-z0-9.-]{0,63}$/) }),
  fc.record({ npi: fc.constantFrom('1234567893', '1245319599', '1003000126') }),
);
const validIdObject = fc.record({ id: fc.stringMatching(/^[A-Za-z0-9-][A-Za-z0-9.-]{0,63}$/) });
const validServiceType = fc.record({ code: fc.constantFrom('95014', '95015') });
const validLimit = fc.integer({ min: 1, max: 500 });

/** Bodies that follow the contract: every one must reach Epic and answer 200. */
const validBody = fc
  .tuple(
    fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }),
    fc.integer({ min: 1, max: 31 * 86_400_000 }),
    fc.record(
      {
        provider: validProvider,
        location: validIdObject,
        serviceType: validServiceType,
        patient: validIdObject,
        limit: validLimit,
      },
      { requiredKeys: [] },
    ),
  )
  .map(([start, length, rest]) =>
    JSON.stringify({
      tenant: 'sandbox',
      start: new Date(start).toISOString(),
      end: new Date(start + length).toISOString(),
      ...rest,
    }),
  );

/** Valid windows so the rest of the body decides. */
const validWindow = fc
  .tuple(
    fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }),
    fc.integer({ min: 1, max: 31 * 86_400_000 }),
  )
  .chain(([start, length]) =>
    fc
      .record({ provider, location: idObject, serviceType, patient: idObject, limit }, { requiredKeys: [] })
      .map((rest) =>
        JSON.stringify({
          tenant: 'sandbox',
          start: new Date(start).toISOString(),
          end: new Date(start + length).toISOString(),
          ...rest,
        }),
      ),
  );

const anyBody = fc.oneof(
  { weight: 3, arbitrary: nearValid },
  { weight: 3, arbitrary: validWindow },
  { weight: 2, arbitrary: validBody },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(20_000)) },
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  undefined,
);

describe('find-slots handler, any body', () => {
  it('never answers 5xx, and never reaches Epic for a body it refuses (1,000 bodies)', async () => {
    let valid = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(anyBody, contentType, async (body, type) => {
        const epic = recordingEpic();
        const deps = handlerDeps(epic);
        const handler = createFindSlotsHandler(deps);

        const res = await invoke(handler, apiEvent(body, type));

        expect(res.status).toBeLessThan(500);
        if (res.status === 200) {
          valid += 1;
          expect(epic.calls.length).toBeGreaterThan(0);
        } else {
          refused += 1;
          expect(
            VALIDATION_CODES.has(String(res.body.error)),
            `unexpected ${res.status} ${String(res.body.error)}`,
          ).toBe(true);
          expect(typeof res.body.message).toBe('string');
          expect(epic.calls).toEqual([]);
          expect(deps.tokens.getTokenCalls).toBe(0);
        }
      }),
      { numRuns: 1000 },
    );
    // The generators reach both sides of the property.
    expect(valid).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(300);
  });
});

describe('find-slots handler, contract bodies', () => {
  it('answers 200 for every body that follows the contract (300 bodies)', async () => {
    await fc.assert(
      fc.asyncProperty(validBody, async (body) => {
        const epic = recordingEpic();
        const handler = createFindSlotsHandler(handlerDeps(epic));

        const res = await invoke(handler, apiEvent(body));

        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(epic.calls.some((c) => c.url.endsWith('/Appointment/$find'))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
