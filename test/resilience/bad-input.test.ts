import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../functions/core/clock.js';
import { captureLogs, type LogCapture } from '../helpers/log-capture.js';
import { matrixRow } from './matrix.js';
import {
  assertRow,
  expectLogsCapturedWithoutSecrets,
  expectRowsAsserted,
  expectUsableToken,
  findSlotsBody,
  type Harness,
  invoke,
  startHarness,
} from './support.js';

/** Log codes this file's rows produce: the positive control of the log check. */
const LOG_CODES = ['TOKEN_MINTED', 'REQUEST_REJECTED'];

/**
 * Generated bodies through the local runtime's route handlers: whatever a caller sends, the answer is never a 5xx,
 * and every 4xx carries the shared error body. Bodies mix any JSON value, objects built from the
 * route's own field names with valid and hostile values, raw text, and odd media types.
 */
const TENANTS = ['sandbox', 'sandbox-pbs'];
const MEDIA_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/fhir+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
];

const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('', ' ', '\u0000', '__proto__', 'constructor', '1e309', 'NaN', '-0', '💥'.repeat(30)),
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, false, [], {}),
);

function bodies(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<{ text: string; type: string }> {
  const nearValid = fc
    .record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, fc.oneof(v, hostile)])), {
      requiredKeys: [],
    })
    .chain((obj) =>
      fc
        .record({ extra: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), hostile, { maxKeys: 2 })) })
        .map(({ extra }) => ({ ...obj, ...(extra ?? {}) })),
    )
    .map((o) => JSON.stringify(o));
  const text = fc.oneof(
    { weight: 5, arbitrary: nearValid },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constant('x'.repeat(20_000)) },
  );
  return fc.record({
    text,
    type: fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') },
      fc.constantFrom(...MEDIA_TYPES),
    ),
  });
}

describe('resilience: generated bad input never produces a 5xx', () => {
  let h: Harness;
  let logs: LogCapture;

  beforeAll(async () => {
    logs = captureLogs();
    h = await startHarness({ minterSettings: { forceMinIntervalSeconds: 30 } });
    for (const tenant of TENANTS) expect((await h.refresh({ tenant })).status).toBe(200);
  });

  afterAll(async () => {
    await h.close();
    logs.restore();
    expectLogsCapturedWithoutSecrets(logs, h, LOG_CODES);
    expectRowsAsserted(['Bad input', 'Secrets']);
  });

  async function expectNo5xx(
    id: string,
    send: (text: string, type: string) => Promise<{ status: number; body: Record<string, unknown> }>,
    fields: Record<string, fc.Arbitrary<unknown>>,
  ) {
    const row = matrixRow(id);
    let runs = 0;
    let serverErrors = 0;

    await fc.assert(
      fc.asyncProperty(bodies(fields), async ({ text, type }) => {
        runs++;
        const res = await send(text, type);
        if (res.status >= 500) serverErrors++;
        if (res.body.access_token) h.secrets.add(String(res.body.access_token));
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400)
          expect(res.body).toMatchObject({ error: expect.any(String), message: expect.any(String) });
      }),
      { numRuns: row.counts.bodies, seed: 20261204 },
    );

    assertRow(id, {
      status: serverErrors === 0 ? 'no 5xx' : '5xx',
      counts: { bodies: runs, serverErrors },
    });
    for (const tenant of TENANTS) expectUsableToken(await h.stored(tenant), tenant, systemClock);
  }

  const tenant = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...TENANTS) },
    fc.string({ maxLength: 45 }),
  );

  it('bad-input-refresh: 1,000 bodies to POST /epic/oauth/refresh', async () => {
    const route = h.runtime.routes.find((r) => r.path === '/epic/oauth/refresh')!;
    await expectNo5xx('bad-input-refresh', (text, type) => invoke(route.handler, route.path, text, type), {
      tenant,
      force: fc.boolean(),
    });
  });

  it('bad-input-find-slots: 1,000 bodies to POST /epic/find-slots', async () => {
    const valid = findSlotsBody(Date.now());
    const dateTime = fc.oneof(
      fc.constantFrom(valid.start, valid.end, '2026-02-30T08:00:00Z', '2026-12-07T25:00:00Z', '2026-12-07'),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    );
    const route = h.runtime.routes.find((r) => r.path === '/epic/find-slots');
    expect(route, 'the local runtime serves POST /epic/find-slots').toBeDefined();
    await expectNo5xx(
      'bad-input-find-slots',
      (text, type) => invoke(route!.handler, route!.path, text, type),
      {
        tenant,
        start: dateTime,
        end: dateTime,
        provider: fc.oneof(
          fc.record({ name: fc.constantFrom('Jane Smith', 'Smith', 'Nobody Atall', 'Smith, Jane') }),
          fc.record({ id: fc.string({ maxLength: 70 }) }),
          fc.record({ npi: fc.stringMatching(/^\d{10}$/) }),
          fc.record({ name: fc.string(), id: fc.string() }),
        ),
        location: fc.record({ id: fc.string({ maxLength: 70 }) }),
        serviceType: fc.record({ code: fc.constantFrom('95014', '95017', 'x'), system: fc.string() }),
        patient: fc.record({ id: fc.string({ maxLength: 70 }) }),
        limit: fc.oneof(fc.integer({ min: -5, max: 600 }), fc.double()),
      },
    );
  });

  it('bad-input-preflight: 1,000 bodies to POST /epic/preflight', async () => {
    const route = h.runtime.routes.find((r) => r.path === '/epic/preflight');
    expect(route, 'the local runtime serves POST /epic/preflight').toBeDefined();
    await expectNo5xx(
      'bad-input-preflight',
      (text, type) => invoke(route!.handler, route!.path, text, type),
      { tenant: fc.oneof(fc.constantFrom(...TENANTS), fc.string({ maxLength: 45 })) },
    );
  });
});
