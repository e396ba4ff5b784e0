import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realSleep, systemClock } from '../../functions/core/clock.js';
import { type TenantConfig, TenantRegistry } from '../../functions/core/config/tenants.js';
import type { ReaderDependencies } from '../../functions/core/dependencies.js';
import { createTokenUrlResolver } from '../../functions/core/epic/smart-configuration.js';
import { tokenErrorHint } from '../../functions/core/epic/token-errors.js';
import {
  appErrorFromJson,
  DependencyError,
  EpicTokenRejectedError,
  EpicUnavailableError,
} from '../../functions/core/errors/app-error.js';
import { buildJwks } from '../../functions/core/keys/jwks.js';
import { LocalSigningKeys } from '../../functions/core/keys/local-signing-keys.js';
import { noopMetrics } from '../../functions/core/observability/powertools.js';
import {
  type PreflightCheck,
  type PreflightDependencies,
  type PreflightReport,
  runPreflight,
} from '../../functions/core/preflight/run-preflight.js';
import { TokenMintingService } from '../../functions/core/tokens/token-minter.js';
import { CachingTokenProvider } from '../../functions/core/tokens/token-provider.js';
import type { TokenProvider } from '../../functions/core/tokens/types.js';
import { createEpicSimulator, type EpicSimulator } from '../../local/epic-simulator/index.js';
import { createSchedulingBackend } from '../../local/epic-simulator/scheduling/engine.js';
import {
  defaultSchedulingData,
  SEED_SERVICE_TYPE_SYSTEM,
  SEED_SERVICE_TYPES,
} from '../../local/epic-simulator/scheduling/seed.js';
import { MemoryLogger, MemoryTokenStore } from '../helpers/fakes.js';

/**
 * Preflight end to end against the Epic sandbox simulator over loopback HTTP: one simulated
 * organization (or tenant) per failure mode, real keys, real token minting, real FHIR calls.
 */
const CLIENT_ID = '87b94317-7a53-4a96-8a89-998bd31f3ade';

let stateDir: string;
let jwksServer: Server;
let jwksUrl: string;
let simulator: EpicSimulator;
let deps: PreflightDependencies;
let logger: MemoryLogger;
let store: MemoryTokenStore;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

function tenant(id: string, org: string, overrides: Partial<TenantConfig['scheduling']> = {}): TenantConfig {
  const endpoints = simulator.endpoints(org);
  return {
    id,
    name: `Tenant ${id}`,
    fhirBaseUrl: endpoints.r4Base,
    stu3BaseUrl: endpoints.stu3Base,
    ...(id === 'ready' ? {} : { tokenUrl: endpoints.tokenUrl }),
    scheduling: {
      serviceTypeSystem: SEED_SERVICE_TYPE_SYSTEM,
      serviceTypes: [{ code: SEED_SERVICE_TYPES.officeVisit, display: 'Office Visit' }],
      providerBasedScheduling: true,
      ...overrides,
    },
  };
}

function byName(report: PreflightReport, name: string): PreflightCheck | undefined {
  return report.checks.find((c) => c.name === name);
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'preflight-e2e-'));
  const keys = await LocalSigningKeys.open({
    stateDir,
    keys: [{ keyId: 'preflight-test', alg: 'RS384', state: 'active' }],
  });
  jwksServer = createServer(async (req, res) => {
    const body = req.url === '/epic/oauth' ? await buildJwks(keys) : { keys: [] };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  const base = await listen(jwksServer);
  jwksUrl = `${base}/epic/oauth`;
  const now = systemClock.now();
  const seeded = (pbs: boolean) => defaultSchedulingData({ now, providerBasedScheduling: pbs });
  const noSlots = seeded(true);
  for (const schedule of noSlots.schedules) schedule.openSlotStarts = [];
  simulator = await createEpicSimulator({
    organizations: [
      {
        id: 'ready',
        clients: [{ clientId: CLIENT_ID, jwksUrl }],
        fhir: createSchedulingBackend(seeded(true)),
      },
      {
        id: 'no-pbs',
        clients: [{ clientId: CLIENT_ID, jwksUrl }],
        fhir: createSchedulingBackend(seeded(false)),
      },
      { id: 'full', clients: [{ clientId: CLIENT_ID, jwksUrl }], fhir: createSchedulingBackend(noSlots) },
      // Registered with another JWK Set URL: our key is unknown there -> invalid_client.
      {
        id: 'key-unknown',
        clients: [{ clientId: CLIENT_ID, jwksUrl: `${base}/someone-else` }],
        fhir: createSchedulingBackend(seeded(true)),
      },
      {
        id: 'unmapped',
        clients: [{ clientId: CLIENT_ID, jwksUrl, mappedToUser: false }],
        fhir: createSchedulingBackend(seeded(true)),
      },
      {
        id: 'forbidden',
        clients: [{ clientId: CLIENT_ID, jwksUrl }],
        fhir: createSchedulingBackend(seeded(true)),
      },
    ],
  });
  simulator.setFault('forbidden', 'fhir', { kind: 'status', status: 403 });
  const tenants = new TenantRegistry([
    tenant('ready', 'ready'),
    tenant('no-pbs', 'no-pbs', { providerBasedScheduling: false }),
    tenant('full', 'full'),
    tenant('key-unknown', 'key-unknown'),
    tenant('unmapped', 'unmapped'),
    tenant('forbidden', 'forbidden'),
    // Holds a still-valid token from before our key changed; the organization knows only the old key.
    tenant('rotated', 'key-unknown'),
    tenant('unmapped-code', 'ready', { serviceTypes: [{ code: '99999', display: 'Unknown' }] }),
    tenant('no-templates', 'ready', {
      serviceTypes: [{ code: SEED_SERVICE_TYPES.sportsPhysicalNoTemplates }],
    }),
  ]);
  logger = new MemoryLogger();
  store = new MemoryTokenStore();
  const tokenUrls = createTokenUrlResolver({ fetch, clock: systemClock, logger });
  const minter = new TokenMintingService({
    clientId: CLIENT_ID,
    tenants,
    store,
    keys,
    tokenUrls,
    fetch,
    clock: systemClock,
    sleep: realSleep,
    random: Math.random,
    logger,
    metrics: noopMetrics,
  });
  const reader: ReaderDependencies = {
    clientId: CLIENT_ID,
    tenants,
    tokens: new CachingTokenProvider({ store, minter, clock: systemClock, logger, metrics: noopMetrics }),
    fetch,
    clock: systemClock,
    sleep: realSleep,
    random: () => 0,
    logger,
    metrics: noopMetrics,
  };
  deps = { reader, tokenUrls, jwksUrl, activeKid: async () => (await keys.activeKey()).kid };
});

afterAll(async () => {
  await simulator?.close();
  await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
  await rm(stateDir, { recursive: true, force: true });
});

describe('preflight against the Epic sandbox simulator', () => {
  describe('when the organization has done every step', () => {
    it('passes every check and is ok', async () => {
      const report = await runPreflight('ready', deps);

      expect(report.ok).toBe(true);
      expect(report.checks.map((c) => [c.name, c.status])).toEqual([
        ['tenant-config', 'pass'],
        ['token-url', 'pass'],
        ['jwks', 'pass'],
        ['token', 'pass'],
        ['practitioner-search', 'pass'],
        ['find:95014', 'pass'],
        ['practitioner-hint', 'pass'],
      ]);
      expect(byName(report, 'token-url')?.message).toMatch(
        /discovered from .*\.well-known\/smart-configuration/,
      );
      expect(byName(report, 'find:95014')?.message).toMatch(
        /found \d+ open slot\(s\) for service type 95014/,
      );
      expect(byName(report, 'token')?.message).toMatch(
        /^Epic issued an access token for our client assertion now/,
      );
      expect(report.checks.every((c) => c.fix === null)).toBe(true);
    });
  });

  describe('when Epic answers invalid_client', () => {
    it('fails the token check, says the key is not registered or the client not synced, and skips the rest', async () => {
      const report = await runPreflight('key-unknown', deps);

      const token = byName(report, 'token');
      expect(report.ok).toBe(false);
      expect(token?.status).toBe('fail');
      expect(token?.message).toContain('invalid_client');
      expect(token?.fix).toContain(`JWK Set URL ${jwksUrl} is registered for client id ${CLIENT_ID}`);
      expect(token?.fix).toMatch(/client sync/);
      expect(report.checks.slice(4).map((c) => c.status)).toEqual(['skip', 'skip', 'skip']);
    });
  });

  describe('when the minter is invoked over Lambda and Epic refused the assertion', () => {
    it('still gives the invalid_client fix for the rebuilt plain AppError', async () => {
      // What LambdaTokenMinter throws: the wire form rebuilt, no EpicTokenRejectedError class.
      const rebuilt = appErrorFromJson(
        new EpicTokenRejectedError('ready', 'invalid_client', tokenErrorHint('invalid_client')).toJSON(),
      )!;
      const failing: TokenProvider = {
        getToken: () => Promise.reject(rebuilt),
        forceRefresh: () => Promise.reject(rebuilt),
        invalidate: () => {},
      };

      const report = await runPreflight('ready', { ...deps, reader: { ...deps.reader, tokens: failing } });

      const token = byName(report, 'token');
      expect(rebuilt).not.toBeInstanceOf(EpicTokenRejectedError);
      expect(token?.status).toBe('fail');
      expect(token?.message).toBe('Epic refused our client assertion (invalid_client).');
      expect(token?.fix).toContain(`JWK Set URL ${jwksUrl} is registered for client id ${CLIENT_ID}`);
    });
  });

  describe('when a valid token is cached but Epic no longer accepts our assertion', () => {
    it('fails the token check: it mints now instead of trusting the cached token', async () => {
      const now = systemClock.now();
      await store.write({
        tenant: 'rotated',
        access_token: 'minted-with-the-previous-key',
        token_type: 'Bearer',
        expires_in: 3600,
        obtained_at: new Date(now - 600_000).toISOString(),
        expires_at: new Date(now + 3_000_000).toISOString(),
      });

      const report = await runPreflight('rotated', deps);

      const token = byName(report, 'token');
      expect(token?.status).toBe('fail');
      expect(token?.message).toContain('invalid_client');
      expect(report.ok).toBe(false);
    });
  });

  describe('when a token was minted moments ago', () => {
    it('passes the token check without minting again, saying the recent mint proves the assertion', async () => {
      await runPreflight('ready', deps);
      const issued = simulator.stats('ready').tokensIssued;

      const report = await runPreflight('ready', deps);

      const token = byName(report, 'token');
      expect(token?.status).toBe('pass');
      expect(token?.message).toMatch(/moments ago .*proves Epic accepts the assertion/);
      expect(simulator.stats('ready').tokensIssued).toBe(issued);
    });
  });

  describe('when one of our AWS dependencies fails', () => {
    const KMS_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/0d5c1b7e-secret-key-id';
    const SECRET = 'epic/tokens/ready-secret-name';

    it('reports the code and a generic sentence, never the message naming a key or secret', async () => {
      const tokens: TokenProvider = {
        getToken: () =>
          Promise.reject(new DependencyError('token_store_unavailable', `Cannot read ${SECRET}`)),
        forceRefresh: () =>
          Promise.reject(new DependencyError('token_store_unavailable', `Cannot read ${SECRET}`)),
        invalidate: () => {},
      };

      const report = await runPreflight('ready', {
        ...deps,
        reader: { ...deps.reader, tokens },
        activeKid: () => Promise.reject(new DependencyError('signing_unavailable', `KMS refused ${KMS_KEY}`)),
      });

      expect(byName(report, 'jwks')?.message).toBe(
        'Could not read our active signing key: signing_unavailable: a dependency of this service failed; the details are in our logs, not in this report.',
      );
      expect(byName(report, 'token')?.message).toContain(
        'token_store_unavailable: a dependency of this service failed',
      );
      expect(JSON.stringify(report)).not.toContain(KMS_KEY);
      expect(JSON.stringify(report)).not.toContain(SECRET);
    });

    it('still explains an Epic-facing failure with its message', async () => {
      const unavailable = new EpicUnavailableError(
        'epic_unavailable',
        'Epic answered the token request for tenant "ready" with HTTP 503 after 3 attempt(s); retry later.',
      );
      const tokens: TokenProvider = {
        getToken: () => Promise.reject(unavailable),
        forceRefresh: () => Promise.reject(unavailable),
        invalidate: () => {},
      };

      const report = await runPreflight('ready', { ...deps, reader: { ...deps.reader, tokens } });

      expect(byName(report, 'token')?.message).toBe(
        `No access token could be obtained: ${unavailable.message}`,
      );
    });
  });

  describe('when Epic answers unauthorized_client', () => {
    it('fails the token check and asks for the client id to be mapped to an Epic user', async () => {
      const report = await runPreflight('unmapped', deps);

      const token = byName(report, 'token');
      expect(token?.status).toBe('fail');
      expect(token?.message).toContain('unauthorized_client');
      expect(token?.fix).toBe(
        `Map the backend client id ${CLIENT_ID} to an Epic (background) user in this organization's Epic.`,
      );
    });
  });

  describe('when Practitioner search answers 403', () => {
    it('fails the search check and asks for the API to be enabled on the client', async () => {
      const report = await runPreflight('forbidden', deps);

      const search = byName(report, 'practitioner-search');
      expect(search?.status).toBe('fail');
      expect(search?.message).toContain('HTTP 403');
      expect(search?.fix).toContain(
        `Enable Practitioner.Search (Organizational Directory) (R4) for client id ${CLIENT_ID}`,
      );
      expect(report.ok).toBe(false);
    });
  });

  describe('when the schedules have no open slots (4101)', () => {
    it('warns, asks for open slots to be released, and stays ok', async () => {
      const report = await runPreflight('full', deps);

      const find = byName(report, 'find:95014');
      expect(find?.status).toBe('warn');
      expect(find?.message).toContain('no open slots on the schedules in the next 14 days (Epic code 4101)');
      expect(find?.fix).toMatch(/Release open slots/);
      expect(report.ok).toBe(true);
    });
  });

  describe('when the decision tree does not map the service type (59200)', () => {
    it('fails and asks for the code to be mapped to a visit type', async () => {
      const report = await runPreflight('unmapped-code', deps);

      const find = byName(report, 'find:99999');
      expect(find?.status).toBe('fail');
      expect(find?.message).toContain('could not determine a visit type');
      expect(find?.message).toContain('59200');
      expect(find?.fix).toBe(
        `Map code 99999 of ${SEED_SERVICE_TYPE_SYSTEM} to a bookable visit type in the scheduling decision tree, or send us the code the tree expects.`,
      );
      expect(report.ok).toBe(false);
    });
  });

  describe('when providers have no templates for the visit type (59134)', () => {
    it('fails and asks for provider templates', async () => {
      const report = await runPreflight('no-templates', deps);

      const find = byName(report, 'find:95017');
      expect(find?.status).toBe('fail');
      expect(find?.message).toContain('provider template problem');
      expect(find?.message).toContain('59134');
      expect(find?.fix).toMatch(/^Build provider templates for the visit type behind 95017/);
    });
  });

  describe('when Epic ignores the practitioner hint (59109)', () => {
    it('warns that provider-based scheduling is not configured and results are filtered on our side', async () => {
      const report = await runPreflight('no-pbs', deps);

      const hint = byName(report, 'practitioner-hint');
      expect(hint?.status).toBe('warn');
      expect(hint?.message).toContain('59109');
      expect(hint?.message).toContain(
        'provider-based scheduling is not configured; results are filtered on our side',
      );
      expect(hint?.fix).toMatch(/Configure provider-based scheduling/);
      expect(report.ok).toBe(true);
    });
  });

  describe('when our JWK Set does not hold the active key', () => {
    it('fails the jwks check', async () => {
      const report = await runPreflight('ready', {
        ...deps,
        jwksUrl: jwksUrl.replace('/epic/oauth', '/elsewhere'),
      });

      const jwks = byName(report, 'jwks');
      expect(jwks?.status).toBe('fail');
      expect(jwks?.message).toContain('does not contain the active key');
    });
  });

  it('never logs an access token', async () => {
    const tokens = [...store.data.values()].map(
      (t) => (JSON.parse(t) as { access_token: string }).access_token,
    );

    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) expect(logger.text()).not.toContain(token);
  });
});
