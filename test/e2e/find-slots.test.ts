import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFindSlotsHandler } from '../../functions/find-slots/handler.js';
import {
  SEED_LOCATIONS,
  SEED_PRACTITIONERS,
  SEED_SERVICE_TYPE_SYSTEM,
} from '../../local/epic-simulator/scheduling/seed.js';
import { createLocalRuntime, type LocalRuntime } from '../../local/runtime/app.js';
import { FakeClock, MemoryLogger } from '../helpers/fakes.js';
import { expectNoSecrets } from '../helpers/log-capture.js';

/**
 * `POST /epic/find-slots` end to end over real HTTP on loopback: the local runtime (real handler,
 * token provider, minter, file store) and the embedded Epic sandbox simulator with its seeded
 * clinic. `sandbox` has no provider-based scheduling; `sandbox-pbs` has it.
 *
 * The clock is frozen on Friday 2026-12-04, so "next week" is Monday 7 to Friday 11 December, and
 * Dr. Jane Smith has Office Visit slots at Main Street from 09:00Z.
 */
const NOW = Date.parse('2026-12-04T15:00:00Z');
const WEEK = { start: '2026-12-07T00:00:00Z', end: '2026-12-12T00:00:00Z' };
const JANE = SEED_PRACTITIONERS.janeSmith;
const JOHN = SEED_PRACTITIONERS.johnSmith;
const GARCIA = SEED_PRACTITIONERS.mariaGarcia;

interface Slot {
  start: string;
  end: string;
  minutes: number;
  provider: { id: string; name: string } | null;
  location: { id: string; name: string } | null;
  serviceType: { system: string; code: string; display: string } | null;
  appointmentId: string;
  slotIds: string[];
}
interface Diagnostic {
  severity: string;
  code: string;
  epicCode: string | null;
  message: string;
}
interface Answer {
  status: number;
  body: {
    tenant?: string;
    provider?: { id: string; name: string } | null;
    slots?: Slot[];
    diagnostics?: Diagnostic[];
    error?: string;
    message?: string;
    details?: Record<string, unknown>;
  };
  text: string;
}

describe('POST /epic/find-slots, end to end', () => {
  let runtime: LocalRuntime;
  const logger = new MemoryLogger();
  const sleeps: number[] = [];
  const bodies: string[] = [];

  async function findSlots(body: Record<string, unknown>): Promise<Answer> {
    const res = await fetch(`${runtime.url}/epic/find-slots`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, body: JSON.parse(text) as Answer['body'], text };
  }

  const codes = (a: Answer) => (a.body.diagnostics ?? []).map((d) => d.code);
  const keyOf = (s: Slot) => `${s.start}|${s.slotIds.join(',')}`;

  beforeAll(async () => {
    runtime = await createLocalRuntime({
      stateDir: await mkdtemp(join(tmpdir(), 'e2e-find-slots-')),
      clock: new FakeClock(NOW),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      logger,
    });
  });

  afterAll(async () => {
    const sim = runtime.simulator!;
    const unexpected = [...sim.stats('sandbox').unexpected, ...sim.stats('sandbox-pbs').unexpected];
    await runtime.close();
    expect(unexpected, 'no request Epic would not answer').toEqual([]);
    // Every token the simulator issued is unknown to us, so look for the shapes instead.
    expect(expectNoSecrets(logger.text() + bodies.join('\n'), [])).toEqual([]);
    expect(logger.text()).not.toMatch(/Bearer/);
  });

  afterEach(() => {
    runtime.simulator!.setFault('sandbox', 'fhir', undefined);
  });

  describe('naming the provider', () => {
    it('finds Dr. Jane Smith by name: only her slots, sorted, with the practitioner resolved on R4', async () => {
      const answer = await findSlots({
        tenant: 'sandbox',
        ...WEEK,
        provider: { name: 'Jane Smith' },
        serviceType: { code: '95014' },
      });

      expect(answer.status).toBe(200);
      expect(answer.body.provider).toEqual({ id: JANE.r4Id, name: JANE.display });
      const slots = answer.body.slots!;
      expect(slots.length).toBeGreaterThan(10);
      expect(new Set(slots.map((s) => s.provider?.id))).toEqual(new Set([JANE.stu3Id]));
      expect(slots[0]).toMatchObject({
        start: '2026-12-07T09:00:00Z',
        end: '2026-12-07T09:30:00Z',
        minutes: 30,
        location: { id: SEED_LOCATIONS.mainStreet.id, name: SEED_LOCATIONS.mainStreet.name },
        serviceType: { system: SEED_SERVICE_TYPE_SYSTEM, code: '95014', display: 'Office Visit' },
        slotIds: ['slot-jsmith-main-20261207T0900'],
      });
      const starts = slots.map((s) => Date.parse(s.start));
      expect(starts).toEqual([...starts].sort((a, b) => a - b));
    });

    it('gives the same slots by name ("Smith, Jane"), NPI and R4 id', async () => {
      const base = { tenant: 'sandbox', ...WEEK, serviceType: { code: '95014' } };

      const byName = await findSlots({ ...base, provider: { name: 'Smith, Jane' } });
      const byNpi = await findSlots({ ...base, provider: { npi: JANE.npi } });
      const byId = await findSlots({ ...base, provider: { id: JANE.r4Id } });

      expect([byName.status, byNpi.status, byId.status]).toEqual([200, 200, 200]);
      expect(byNpi.body.slots!.map(keyOf)).toEqual(byName.body.slots!.map(keyOf));
      expect(byId.body.slots!.map(keyOf)).toEqual(byName.body.slots!.map(keyOf));
      expect(byId.body.provider).toEqual({ id: JANE.r4Id, name: JANE.display });
    });

    it('answers 409 with both Smiths when the name is ambiguous', async () => {
      const answer = await findSlots({ tenant: 'sandbox', ...WEEK, provider: { name: 'Smith' } });

      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('ambiguous_provider');
      expect(answer.body.details?.candidates).toEqual([
        { id: JANE.r4Id, name: JANE.display, npi: JANE.npi },
        { id: JOHN.r4Id, name: JOHN.display, npi: JOHN.npi },
      ]);
    });

    it('answers 404 provider_not_found for a name nobody has', async () => {
      const answer = await findSlots({ tenant: 'sandbox', ...WEEK, provider: { name: 'Gregory House' } });

      expect(answer.status).toBe(404);
      expect(answer.body.error).toBe('provider_not_found');
    });

    it('answers 404 provider_not_found for an unknown Practitioner id', async () => {
      const answer = await findSlots({ tenant: 'sandbox', ...WEEK, provider: { id: 'eDoesNotExist3' } });

      expect(answer.status).toBe(404);
      expect(answer.body.error).toBe('provider_not_found');
    });
  });

  describe('provider-based scheduling on and off', () => {
    it('gives the same correct slots both ways, saying the practitioner was not used when off', async () => {
      const body = { ...WEEK, provider: { name: 'Jane Smith' }, serviceType: { code: '95014' } };

      const off = await findSlots({ tenant: 'sandbox', ...body });
      const on = await findSlots({ tenant: 'sandbox-pbs', ...body });

      expect(off.status).toBe(200);
      expect(on.status).toBe(200);
      expect(on.body.slots!.map(keyOf)).toEqual(off.body.slots!.map(keyOf));
      expect(codes(off)).toEqual(['parameter-ignored']);
      expect(codes(on)).toEqual([]);
    });

    it('explains a provider with no template for the visit type either way', async () => {
      const body = { ...WEEK, provider: { name: 'Maria Garcia' }, serviceType: { code: '95014' } };

      const off = await findSlots({ tenant: 'sandbox', ...body });
      const on = await findSlots({ tenant: 'sandbox-pbs', ...body });

      // Off: Epic proposed other providers' slots, none hers. On: Epic says her template is missing.
      expect(off.body.slots).toEqual([]);
      expect(codes(off)).toEqual(['parameter-ignored', 'provider-not-in-results']);
      expect(off.body.diagnostics![1]!.message).toContain(GARCIA.display);
      expect(on.body.slots).toEqual([]);
      expect(on.body.diagnostics!.map((d) => [d.code, d.epicCode])).toEqual([
        ['provider-template-problem', '59134'],
        ['no-open-slots', '4101'],
      ]);
    });
  });

  describe('filters', () => {
    it('keeps only the asked-for location', async () => {
      const answer = await findSlots({
        tenant: 'sandbox',
        ...WEEK,
        provider: { npi: JOHN.npi },
        location: { id: SEED_LOCATIONS.riverside.id },
        serviceType: { code: '95014' },
      });

      expect(answer.status).toBe(200);
      expect(answer.body.slots!.length).toBeGreaterThan(0);
      expect(new Set(answer.body.slots!.map((s) => s.location?.id))).toEqual(
        new Set([SEED_LOCATIONS.riverside.id]),
      );
      // John works at Riverside only on Tuesdays and Thursdays.
      expect(new Set(answer.body.slots!.map((s) => new Date(s.start).getUTCDay()))).toEqual(new Set([2, 4]));
    });

    it('keeps only the asked-for service type, with its length', async () => {
      const answer = await findSlots({
        tenant: 'sandbox',
        ...WEEK,
        provider: { name: 'Jane Smith' },
        serviceType: { code: '95015' },
        limit: 5,
      });

      expect(answer.body.slots).toHaveLength(5);
      for (const slot of answer.body.slots!) {
        expect(slot).toMatchObject({
          minutes: 60,
          serviceType: { code: '95015', display: 'New Patient Visit' },
        });
        expect(slot.slotIds).toHaveLength(2);
      }
    });
  });

  describe('empty results', () => {
    it('answers 200 with no-open-slots (4101) for a weekend', async () => {
      const answer = await findSlots({
        tenant: 'sandbox',
        start: '2026-12-12T00:00:00Z',
        end: '2026-12-14T00:00:00Z',
        serviceType: { code: '95014' },
      });

      expect(answer.status).toBe(200);
      expect(answer.body.slots).toEqual([]);
      expect(answer.body.diagnostics).toEqual([
        expect.objectContaining({ code: 'no-open-slots', epicCode: '4101', severity: 'warning' }),
      ]);
    });

    it('answers 200 with referenced-resource-not-found (59144) for a location Epic does not know', async () => {
      const answer = await findSlots({
        tenant: 'sandbox',
        ...WEEK,
        location: { id: 'eNoSuchLocation3' },
        serviceType: { code: '95014' },
      });

      expect(answer.status).toBe(200);
      expect(answer.body.diagnostics!.map((d) => [d.code, d.epicCode])).toEqual([
        ['referenced-resource-not-found', '59144'],
      ]);
    });
  });

  describe('faults', () => {
    const officeVisits = { tenant: 'sandbox', ...WEEK, serviceType: { code: '95014' }, limit: 1 };

    it('mints one fresh token and retries once when Epic answers 401', async () => {
      const sim = runtime.simulator!;
      expect((await findSlots(officeVisits)).status).toBe(200);
      const issuedBefore = sim.stats('sandbox').tokensIssued;
      sim.revokeTokens('sandbox');

      const answer = await findSlots(officeVisits);

      expect(answer.status).toBe(200);
      expect(answer.body.slots).toHaveLength(1);
      expect(sim.stats('sandbox').tokensIssued).toBe(issuedBefore + 1);
    });

    it('fails with 502 epic_token_revoked when the fresh token is refused too', async () => {
      runtime.simulator!.setFault('sandbox', 'fhir', { kind: 'status', status: 401 });

      const answer = await findSlots(officeVisits);

      expect(answer.status).toBe(502);
      expect(answer.body.error).toBe('epic_token_revoked');
    });

    it('fails with 502 epic_api_not_enabled naming the API on 403', async () => {
      runtime.simulator!.setFault('sandbox', 'fhir', { kind: 'status', status: 403 });

      const search = await findSlots({ ...officeVisits, provider: { name: 'Ahmed Khan' } });
      const find = await findSlots(officeVisits);

      expect(search.status).toBe(502);
      expect(search.body).toMatchObject({
        error: 'epic_api_not_enabled',
        details: { api: 'Practitioner.Search (R4)' },
      });
      expect(find.body).toMatchObject({
        error: 'epic_api_not_enabled',
        details: { api: 'Appointment.$find (STU3)' },
      });
      expect(find.body.message).toContain('Appointment.$find (STU3)');
    });

    it('retries a 429 after Retry-After and succeeds', async () => {
      runtime.simulator!.setFault('sandbox', 'fhir', {
        kind: 'status',
        status: 429,
        retryAfterSeconds: 2,
        times: 1,
      });
      sleeps.length = 0;

      const answer = await findSlots(officeVisits);

      expect(answer.status).toBe(200);
      expect(sleeps).toEqual([2000]);
    });

    it('gives up with 502 epic_unavailable after bounded retries of a 503', async () => {
      const sim = runtime.simulator!;
      sim.setFault('sandbox', 'fhir', { kind: 'status', status: 503 });
      sim.resetStats();

      const answer = await findSlots(officeVisits);

      expect(answer.status).toBe(502);
      expect(answer.body.error).toBe('epic_unavailable');
      expect(sim.stats('sandbox').fhirRequests).toBe(3);
    });

    it('fails with 504 epic_timeout when Epic is too slow', async () => {
      const route = runtime.routes.find((r) => r.path === '/epic/find-slots')!;
      const original = route.handler;
      route.handler = createFindSlotsHandler(runtime.reader, {
        fhirPolicy: { requestTimeoutMs: 200, maxAttempts: 2 },
      });
      runtime.simulator!.setFault('sandbox', 'fhir', { kind: 'slow', delayMs: 2_000, times: 2 });

      try {
        const answer = await findSlots(officeVisits);

        expect(answer.status).toBe(504);
        expect(answer.body.error).toBe('epic_timeout');
      } finally {
        route.handler = original;
      }
    });

    it.each([
      ['a malformed JSON body', { kind: 'malformed' as const }],
      ['an HTML page', { kind: 'non-fhir' as const }],
    ])('fails with 502 epic_bad_response for %s', async (_label, fault) => {
      runtime.simulator!.setFault('sandbox', 'fhir', fault);

      const answer = await findSlots(officeVisits);

      expect(answer.status).toBe(502);
      expect(answer.body.error).toBe('epic_bad_response');
    });

    it('fails with 502 epic_unavailable when Epic drops the connection', async () => {
      runtime.simulator!.setFault('sandbox', 'fhir', { kind: 'drop' });

      const answer = await findSlots(officeVisits);

      expect(answer.status).toBe(502);
      expect(answer.body.error).toBe('epic_unavailable');
    });
  });

  it('rejects an invalid body with 400 naming the field, without calling Epic', async () => {
    const sim = runtime.simulator!;
    sim.resetStats();

    const answer = await findSlots({ tenant: 'sandbox', ...WEEK, serviceType: { code: '12345' } });

    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'invalid_input', details: { field: 'serviceType.code' } });
    expect(answer.body.message).toContain('95014 (Office Visit)');
    expect(sim.stats('sandbox').fhirRequests + sim.stats('sandbox').tokenRequests).toBe(0);
  });
});
