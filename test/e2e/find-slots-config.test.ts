import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEpicSimulator, type EpicSimulator } from '../../local/epic-simulator/index.js';
import { createSchedulingBackend } from '../../local/epic-simulator/scheduling/engine.js';
import {
  defaultSchedulingData,
  SEED_PRACTITIONERS,
  SEED_SERVICE_TYPE_SYSTEM,
} from '../../local/epic-simulator/scheduling/seed.js';
import { createLocalRuntime, type LocalRuntime, NONPROD_CLIENT_ID } from '../../local/runtime/app.js';
import { FakeClock, MemoryLogger } from '../helpers/fakes.js';

/**
 * find-slots end to end against organizations whose Epic build does not match what we were told:
 * the local runtime reads a tenants file (TENANTS_FILE) that points at a separately started Epic
 * simulator. The tenant claims provider-based scheduling and lists service type codes the
 * organization's decision tree cannot use, so Epic's own outcome codes come back over HTTP.
 */
const NOW = Date.parse('2026-12-04T15:00:00Z');
const WEEK = { start: '2026-12-07T00:00:00Z', end: '2026-12-12T00:00:00Z' };
const JANE = SEED_PRACTITIONERS.janeSmith;
/** A code the organization's decision tree does not know. */
const UNKNOWN_TO_TREE = '40111223';
/** Known to the tree, but no provider has a template for it. */
const NO_TEMPLATES = '95017';
/** The JWK Set URL registered before the runtime's port is known; requests are forwarded to it. */
const PLACEHOLDER_JWKS = 'http://127.0.0.1:9/epic/oauth';

describe('POST /epic/find-slots against a mismatched Epic build, end to end', () => {
  let simulator: EpicSimulator;
  let runtime: LocalRuntime;
  let jwksUrl = '';

  async function findSlots(body: Record<string, unknown>) {
    const res = await fetch(`${runtime.url}/epic/find-slots`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as {
        slots: Array<{ provider: { id: string } | null; slotIds: string[] }>;
        diagnostics: Array<{ code: string; epicCode: string | null; message: string }>;
      },
    };
  }

  beforeAll(async () => {
    const clock = new FakeClock(NOW);
    simulator = await createEpicSimulator({
      clock,
      fetch: ((input: string | URL | Request, init?: RequestInit) =>
        fetch(String(input) === PLACEHOLDER_JWKS ? jwksUrl : input, init)) as typeof fetch,
      organizations: [
        {
          id: 'clinic',
          clients: [{ clientId: NONPROD_CLIENT_ID, jwksUrl: PLACEHOLDER_JWKS }],
          fhir: createSchedulingBackend(defaultSchedulingData({ now: NOW, providerBasedScheduling: false })),
        },
      ],
    });
    const endpoints = simulator.endpoints('clinic');
    const dir = await mkdtemp(join(tmpdir(), 'e2e-find-slots-config-'));
    const tenantsFile = join(dir, 'tenants.json');
    await writeFile(
      tenantsFile,
      JSON.stringify({
        tenants: [
          {
            id: 'clinic',
            name: 'Clinic whose Epic build differs from our config',
            fhirBaseUrl: endpoints.r4Base,
            stu3BaseUrl: endpoints.stu3Base,
            tokenUrl: endpoints.tokenUrl,
            scheduling: {
              serviceTypeSystem: SEED_SERVICE_TYPE_SYSTEM,
              serviceTypes: [
                { code: '95014', display: 'Office Visit' },
                { code: NO_TEMPLATES, display: 'Sports Physical' },
                { code: UNKNOWN_TO_TREE, display: 'Annual Physical' },
              ],
              providerBasedScheduling: true,
            },
          },
        ],
      }),
    );
    runtime = await createLocalRuntime({
      stateDir: dir,
      tenantsFile,
      clock,
      sleep: async () => undefined,
      random: () => 0.5,
      logger: new MemoryLogger(),
    });
    jwksUrl = runtime.jwksUrl;
  });

  afterAll(async () => {
    const unexpected = simulator.stats('clinic').unexpected;
    await runtime.close();
    await simulator.close();
    expect(unexpected).toEqual([]);
  });

  it("still answers only the provider's slots when Epic ignores the practitioner (59109)", async () => {
    const answer = await findSlots({
      tenant: 'clinic',
      ...WEEK,
      provider: { name: 'Jane Smith' },
      serviceType: { code: '95014' },
    });

    expect(answer.status).toBe(200);
    expect(answer.body.slots.length).toBeGreaterThan(10);
    expect(new Set(answer.body.slots.map((s) => s.provider?.id))).toEqual(new Set([JANE.stu3Id]));
    expect(answer.body.diagnostics.map((d) => [d.code, d.epicCode])).toEqual([
      ['parameter-ignored', '59109'],
    ]);
    expect(answer.body.diagnostics[0]!.message).toContain('provider-based scheduling');
  });

  it('explains a service type the decision tree cannot map (59200)', async () => {
    const answer = await findSlots({ tenant: 'clinic', ...WEEK, serviceType: { code: UNKNOWN_TO_TREE } });

    expect(answer.status).toBe(200);
    expect(answer.body.slots).toEqual([]);
    expect(answer.body.diagnostics.map((d) => [d.code, d.epicCode])).toContainEqual([
      'visit-type-not-determined',
      '59200',
    ]);
    const explained = answer.body.diagnostics.find((d) => d.code === 'visit-type-not-determined')!;
    expect(explained.message).toContain(UNKNOWN_TO_TREE);
    expect(explained.message).toMatch(/decision tree/);
  });

  it('explains a visit type nobody has templates for (59134)', async () => {
    const answer = await findSlots({ tenant: 'clinic', ...WEEK, serviceType: { code: NO_TEMPLATES } });

    expect(answer.status).toBe(200);
    expect(answer.body.slots).toEqual([]);
    expect(answer.body.diagnostics.map((d) => [d.code, d.epicCode])).toContainEqual([
      'provider-template-problem',
      '59134',
    ]);
  });
});
