import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../functions/core/clock.js';
import type { CachedToken } from '../../functions/core/tokens/types.js';
import type { Fault } from '../../local/epic-simulator/index.js';
import { captureLogs, type LogCapture } from '../helpers/log-capture.js';
import {
  assertRow,
  expectLogsCapturedWithoutSecrets,
  expectRowsAsserted,
  expectUsableToken,
  findSlotsBody,
  type Harness,
  SLOW_ANSWER_MS,
  startHarness,
} from './support.js';

/** Log codes this file's rows produce: the positive control of the log check. */
const LOG_CODES = ['TOKEN_MINTED', 'EPIC_FHIR_RETRY', 'REQUEST_FAILED', 'FIND_SLOTS_COMPLETED'];

/**
 * Epic's FHIR endpoints misbehave during `POST /epic/find-slots` (no provider, so each attempt is
 * one `$find`): exact status and code, bounded attempts counted by the simulator, and the cached
 * token afterwards is the one from before unless Epic said it is no longer valid.
 */
const TENANT = 'sandbox';

describe('resilience: Epic FHIR faults during find-slots', () => {
  let h: Harness;
  let logs: LogCapture;
  let before: CachedToken;

  beforeAll(async () => {
    logs = captureLogs();
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
    logs.restore();
    expectLogsCapturedWithoutSecrets(logs, h, LOG_CODES);
    expectRowsAsserted(['Epic FHIR', 'Secrets']);
  });

  beforeEach(async () => {
    const sim = h.runtime.simulator!;
    sim.setFault(TENANT, 'fhir', undefined);
    const ok = await h.findSlots(findSlotsBody(Date.now(), TENANT));
    expect(ok.status).toBe(200);
    before = expectUsableToken(await h.stored(TENANT), TENANT, systemClock);
    sim.resetStats();
  });

  async function findSlotsUnder(fault: Fault) {
    const sim = h.runtime.simulator!;
    sim.setFault(TENANT, 'fhir', fault);
    const res = await h.findSlots(findSlotsBody(Date.now(), TENANT), undefined, { shortTimeout: true });
    sim.setFault(TENANT, 'fhir', undefined);
    return { res, stats: sim.stats(TENANT) };
  }

  it.each([
    ['fhir-403', { kind: 'status', status: 403 }],
    ['fhir-429', { kind: 'status', status: 429 }],
    ['fhir-500', { kind: 'status', status: 500 }],
    ['fhir-timeout', { kind: 'slow', delayMs: SLOW_ANSWER_MS }],
    ['fhir-truncated-json', { kind: 'malformed' }],
    ['fhir-non-fhir-body', { kind: 'non-fhir' }],
  ] as Array<[string, Fault]>)('%s: exact answer, bounded attempts, cached token kept', async (id, fault) => {
    const { res, stats } = await findSlotsUnder(fault);

    assertRow(id, {
      status: res.status,
      code: res.body.error as string,
      counts: { fhirRequests: stats.fhirRequests, epicTokenRequests: stats.tokenRequests },
    });
    expect(stats.unexpected).toEqual([]);
    expect(expectUsableToken(await h.stored(TENANT), TENANT, systemClock)).toEqual(before);
  });

  it('fhir-401-after-revocation: mints once, retries once, answers 200 with the new token cached', async () => {
    const sim = h.runtime.simulator!;
    sim.revokeTokens(TENANT);

    const res = await h.findSlots(findSlotsBody(Date.now(), TENANT));

    const stats = sim.stats(TENANT);
    assertRow('fhir-401-after-revocation', {
      status: res.status,
      code: (res.body.error as string | undefined) ?? null,
      counts: { fhirRequests: stats.fhirRequests, epicTokenRequests: stats.tokenRequests },
    });
    expect(Array.isArray(res.body.slots)).toBe(true);
    const after = expectUsableToken(await h.stored(TENANT), TENANT, systemClock);
    expect(after.access_token).not.toBe(before.access_token);
    // The new token is the one readers now get, and Epic accepts it.
    const again = await h.refresh({ tenant: TENANT });
    expect(again.body).toMatchObject({ access_token: after.access_token, refreshed: false });
  });

  it('fhir-401-always: one fresh token, one retry, then 502 epic_token_revoked', async () => {
    const { res, stats } = await findSlotsUnder({ kind: 'status', status: 401 });

    assertRow('fhir-401-always', {
      status: res.status,
      code: res.body.error as string,
      counts: { fhirRequests: stats.fhirRequests, epicTokenRequests: stats.tokenRequests },
    });
    const after = expectUsableToken(await h.stored(TENANT), TENANT, systemClock);
    expect(after.access_token).not.toBe(before.access_token);
  });

  it('fhir-unexpected-bundle: keeps the readable appointment and reports the malformed ones', async () => {
    const body = findSlotsBody(Date.now(), TENANT);
    const start = Date.parse(body.start as string) + 3_600_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        'not an object',
        null,
        { resource: 42 },
        { resource: { resourceType: 'Patient', id: 'x' } },
        { resource: { resourceType: 'Appointment', id: 'no-start', end: iso(start) } },
        { resource: { resourceType: 'Appointment', id: 'bad-end', start: iso(start), end: 'soon' } },
        {
          resource: {
            resourceType: 'Appointment',
            id: 'odd-participants',
            start: iso(start),
            end: iso(start + 1_800_000),
            participant: [null, 'x', { actor: 7 }, { actor: { reference: 42 } }],
            serviceType: 'not a list',
            slot: { reference: 'Slot/1' },
          },
        },
        { resource: { resourceType: 'OperationOutcome', issue: 'not a list' } },
      ],
    };

    const { res, stats } = await findSlotsUnder({
      kind: 'status',
      status: 200,
      body: JSON.stringify(bundle),
    });

    const diagnostics = res.body.diagnostics as Array<{ code: string; message: string }>;
    const malformed = diagnostics.find((d) => d.code === 'malformed-appointments');
    const reported =
      /^(\d+) proposed appointment\(s\) from Epic had no readable start and end and were left out\.$/.exec(
        malformed?.message ?? '',
      );
    expect(reported, 'the malformed-appointments message, exactly').not.toBeNull();
    assertRow('fhir-unexpected-bundle', {
      status: res.status,
      code: (res.body.error as string | undefined) ?? null,
      counts: {
        fhirRequests: stats.fhirRequests,
        slots: (res.body.slots as unknown[]).length,
        malformedAppointments: Number(reported![1]),
      },
    });
    expect(expectUsableToken(await h.stored(TENANT), TENANT, systemClock)).toEqual(before);
  });
});
