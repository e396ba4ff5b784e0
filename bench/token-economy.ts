import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { KmsSigningKeys } from '../functions/core/aws/kms-signing-keys.js';
import { SecretsManagerTokenStore } from '../functions/core/aws/secrets-manager-token-store.js';
import type { Clock } from '../functions/core/clock.js';
import { type TenantConfig, TenantRegistry } from '../functions/core/config/tenants.js';
import type { ReaderDependencies } from '../functions/core/dependencies.js';
import { createTokenUrlResolver } from '../functions/core/epic/smart-configuration.js';
import { requestAccessToken } from '../functions/core/epic/token-client.js';
import { noopMetrics } from '../functions/core/observability/powertools.js';
import { TokenMintingService } from '../functions/core/tokens/token-minter.js';
import { CachingTokenProvider } from '../functions/core/tokens/token-provider.js';
import type { MintRequest, MintResult, TokenMinter } from '../functions/core/tokens/types.js';
import { createFindSlotsHandler } from '../functions/find-slots/handler.js';
import { createJwksHandler } from '../functions/jwks/handler.js';
import { createEpicSimulator } from '../local/epic-simulator/index.js';
import { createSchedulingBackend } from '../local/epic-simulator/scheduling/engine.js';
import { defaultSchedulingData, SEED_SERVICE_TYPE_SYSTEM } from '../local/epic-simulator/scheduling/seed.js';
import { lambdaContext, toApiGatewayEvent } from '../local/runtime/api-gateway-adapter.js';

/**
 * Token economy over a simulated window, built from the real classes: N reader containers
 * (CachingTokenProvider + the find-slots handler each), one TokenMintingService signing with
 * KmsSigningKeys over a KMS fake that signs for real, SecretsManagerTokenStore over an in-memory
 * Secrets Manager fake, the Epic simulator (same fake clock) as every tenant's Epic, and the warmer
 * run on the schedule. Counts KMS Sign, Epic token requests and Secrets Manager writes, and compares
 * them with the ideal and with a naive client that signs and mints for every request.
 */
export interface EconomySettings {
  windowSeconds: number;
  containers: number;
  requests: number;
  tenants: number;
  warmerIntervalSeconds: number;
  tokenLifetimeSeconds: number;
  safetyMarginSeconds: number;
  /** Requests in flight at once while the clock stands still. */
  batch: number;
}

export const DEFAULT_ECONOMY: EconomySettings = {
  windowSeconds: 7_200,
  containers: 50,
  requests: 10_000,
  tenants: 3,
  warmerIntervalSeconds: 300,
  tokenLifetimeSeconds: 3_600,
  safetyMarginSeconds: 60,
  batch: 10,
};

export interface EconomyCounts {
  kmsSign: number;
  epicTokenRequests: number;
  secretsManagerWrites: number;
  secretsManagerReads: number;
  /**
   * Epic token requests made while readers were served (not during a warmer run): the mints the
   * request path caused. With the first warmer run half an interval in, readers find a cold cache
   * and this is one per tenant.
   */
  requestPathMints: number;
  /**
   * Readers' calls to the minter answered with a freshly minted token. Concurrent callers share
   * one mint per tenant, so this can exceed requestPathMints.
   */
  requestPathMintCalls: number;
  warmerMints: number;
  non200: number;
}

export interface EconomyResult {
  settings: EconomySettings;
  /** Mints per tenant a perfect client needs: each token serves (lifetime - margin) seconds. */
  idealPerTenant: number;
  ideal: number;
  scenarios: Array<{ name: string; warmerIntervalSeconds: number; counts: EconomyCounts }>;
  naive: EconomyCounts;
}

const KEY_ARN = 'arn:aws:kms:eu-west-2:111122223333:key/bench-0000-1111-2222-333344445555';
const CLIENT_ID = 'bench-client';
const quiet = new Logger({ serviceName: 'bench', logLevel: 'ERROR' });

class ManualClock implements Clock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
}

/** Counts mints that reach the minter from readers (the request path). */
class CountingMinter implements TokenMinter {
  mints = 0;
  constructor(private readonly inner: TokenMinter) {}
  async mint(request: MintRequest): Promise<MintResult> {
    const result = await this.inner.mint(request);
    if (result.minted) this.mints++;
    return result;
  }
}

function fakeAws() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kms = mockClient(KMSClient);
  kms.on(GetPublicKeyCommand).resolves({
    KeyId: KEY_ARN,
    KeySpec: 'RSA_2048',
    KeyUsage: 'SIGN_VERIFY',
    PublicKey: new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' })),
  });
  kms.on(SignCommand).callsFake((input) => ({
    KeyId: KEY_ARN,
    Signature: new Uint8Array(sign('sha384', input.Message, privateKey)),
  }));
  const values = new Map<string, string>();
  const sm = mockClient(SecretsManagerClient);
  sm.on(GetSecretValueCommand).callsFake((input) => {
    const value = values.get(input.SecretId);
    if (value === undefined) throw new ResourceNotFoundException({ $metadata: {}, message: 'not found' });
    return { Name: input.SecretId, SecretString: value };
  });
  sm.on(PutSecretValueCommand).callsFake((input) => {
    values.set(input.SecretId, input.SecretString);
    return { Name: input.SecretId };
  });
  sm.on(CreateSecretCommand).callsFake((input) => {
    values.set(input.Name, input.SecretString);
    return { Name: input.Name };
  });
  return { kms, sm, values };
}

async function world(settings: EconomySettings, warmerIntervalSeconds: number) {
  const clock = new ManualClock(Date.UTC(2026, 11, 7, 6, 0, 0));
  const aws = fakeAws();
  const kmsClient = new KMSClient({
    region: 'eu-west-2',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const smClient = new SecretsManagerClient({
    region: 'eu-west-2',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const keys = new KmsSigningKeys(kmsClient, [{ keyId: KEY_ARN, alg: 'RS384', state: 'active' }]);

  const jwks = createJwksHandler({ keys, maxAgeSeconds: 3600, logger: quiet });
  const jwksServer = createServer(async (req, res) => {
    const result = (await jwks(
      toApiGatewayEvent(req, Buffer.alloc(0), '/epic/oauth'),
      lambdaContext('jwks'),
    )) as APIGatewayProxyResult;
    res.writeHead(result.statusCode, result.headers as Record<string, string>);
    res.end(result.body);
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/epic/oauth`;

  const orgIds = Array.from({ length: settings.tenants }, (_, i) => `tenant-${i + 1}`);
  const simulator = await createEpicSimulator({
    clock,
    organizations: orgIds.map((id) => ({
      id,
      clients: [{ clientId: CLIENT_ID, jwksUrl }],
      tokenLifetimeSeconds: settings.tokenLifetimeSeconds,
      fhir: createSchedulingBackend(defaultSchedulingData({ now: clock.now() })),
    })),
  });
  const tenants: TenantConfig[] = orgIds.map((id) => {
    const ep = simulator.endpoints(id);
    return {
      id,
      name: id,
      fhirBaseUrl: ep.r4Base,
      stu3BaseUrl: ep.stu3Base,
      tokenUrl: ep.tokenUrl,
      scheduling: {
        serviceTypeSystem: SEED_SERVICE_TYPE_SYSTEM,
        serviceTypes: [{ code: '95014', display: 'Office Visit' }],
        providerBasedScheduling: false,
      },
    };
  });
  const registry = new TenantRegistry(tenants);
  const prefix = 'epic/bench/token/';
  for (const id of orgIds) aws.values.set(`${prefix}${id}`, '{}'); // what the stack creates
  const store = new SecretsManagerTokenStore({ client: smClient, secretPrefix: prefix, logger: quiet });
  const common = { clock, sleep: async () => {}, random: Math.random, logger: quiet, metrics: noopMetrics };
  const minter = new TokenMintingService({
    clientId: CLIENT_ID,
    tenants: registry,
    store,
    keys,
    tokenUrls: createTokenUrlResolver({ fetch, clock, logger: quiet }),
    fetch,
    ...common,
    settings: { safetyMarginSeconds: settings.safetyMarginSeconds, warmerIntervalSeconds },
  });
  const requestPath = new CountingMinter(minter);
  const close = async () => {
    await simulator.close();
    await new Promise<void>((r) => jwksServer.close(() => r()));
    aws.kms.restore();
    aws.sm.restore();
  };
  return { clock, aws, keys, simulator, orgIds, registry, store, minter, requestPath, common, close };
}

/** Next week's clinic day, where the seeded schedules have open slots. */
export function clinicWindow(nowMs: number): { start: string; end: string } {
  const day = 86_400_000;
  const today = Math.floor(nowMs / day) * day;
  const monday = today + (7 - ((new Date(today).getUTCDay() + 6) % 7)) * day;
  return {
    start: new Date(monday + 8 * 3_600_000).toISOString(),
    end: new Date(monday + 17 * 3_600_000).toISOString(),
  };
}

function findSlotsEvent(tenant: string, nowMs: number) {
  const body = JSON.stringify({ tenant, ...clinicWindow(nowMs) });
  const req = {
    url: '/epic/find-slots',
    method: 'POST',
    headers: { 'content-type': 'application/json', host: '127.0.0.1' },
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as Parameters<typeof toApiGatewayEvent>[0];
  return toApiGatewayEvent(req, Buffer.from(body), '/epic/find-slots');
}

/** Requests spread evenly over the window, round-robin over containers and tenants. */
async function ours(settings: EconomySettings): Promise<EconomyCounts> {
  const w = await world(settings, settings.warmerIntervalSeconds);
  try {
    const containers = Array.from({ length: settings.containers }, () => {
      const deps: ReaderDependencies = {
        clientId: CLIENT_ID,
        tenants: w.registry,
        tokens: new CachingTokenProvider({
          store: w.store,
          minter: w.requestPath,
          clock: w.clock,
          logger: quiet,
          metrics: noopMetrics,
          safetyMarginSeconds: settings.safetyMarginSeconds,
        }),
        fetch,
        ...w.common,
      };
      return createFindSlotsHandler(deps);
    });
    const start = w.clock.ms;
    const stepMs = (settings.windowSeconds * 1000) / settings.requests;
    const warmEveryMs = settings.warmerIntervalSeconds * 1000;
    // The first warmer run comes half an interval into the window, not at its first instant: the
    // requests before it meet a cold cache, as after a deploy, and readers mint on demand (at most
    // once per tenant, the minter serializes per tenant). Deterministic, so runs compare.
    let nextWarm = start + warmEveryMs / 2;
    let warmerMints = 0;
    let warmerTokenRequests = 0;
    const tokenRequests = () => w.orgIds.reduce((n, id) => n + w.simulator.stats(id).tokenRequests, 0);
    let non200 = 0;
    for (let i = 0; i < settings.requests; i += settings.batch) {
      w.clock.ms = start + Math.floor(i * stepMs);
      while (nextWarm <= w.clock.ms) {
        const saved = w.clock.ms;
        w.clock.ms = nextWarm; // the schedule fires on time
        const tokenRequestsBefore = tokenRequests();
        warmerMints += (await w.minter.warm()).refreshed;
        warmerTokenRequests += tokenRequests() - tokenRequestsBefore;
        w.clock.ms = saved;
        nextWarm += warmEveryMs;
      }
      const batch: Array<Promise<unknown>> = [];
      for (let j = i; j < Math.min(i + settings.batch, settings.requests); j++) {
        const handler = containers[j % settings.containers]!;
        const tenant = w.orgIds[j % w.orgIds.length]!;
        batch.push(
          handler(findSlotsEvent(tenant, w.clock.ms), lambdaContext('find-slots')).then((r) => {
            if (r.statusCode !== 200) non200++;
          }),
        );
      }
      await Promise.all(batch);
    }
    return {
      kmsSign: w.aws.kms.commandCalls(SignCommand).length,
      epicTokenRequests: tokenRequests(),
      secretsManagerWrites:
        w.aws.sm.commandCalls(PutSecretValueCommand).length +
        w.aws.sm.commandCalls(CreateSecretCommand).length,
      secretsManagerReads: w.aws.sm.commandCalls(GetSecretValueCommand).length,
      requestPathMints: tokenRequests() - warmerTokenRequests,
      requestPathMintCalls: w.requestPath.mints,
      warmerMints,
      non200,
    };
  } finally {
    await w.close();
  }
}

/** The hand-rolled script: for every request, sign a fresh assertion, get a token, call $find. */
async function naive(settings: EconomySettings): Promise<EconomyCounts> {
  const w = await world(settings, settings.warmerIntervalSeconds);
  try {
    const start = w.clock.ms;
    const stepMs = (settings.windowSeconds * 1000) / settings.requests;
    let non200 = 0;
    for (let i = 0; i < settings.requests; i += settings.batch) {
      w.clock.ms = start + Math.floor(i * stepMs);
      const batch: Array<Promise<void>> = [];
      for (let j = i; j < Math.min(i + settings.batch, settings.requests); j++) {
        const tenant = w.registry.get(w.orgIds[j % w.orgIds.length]!);
        const window = clinicWindow(w.clock.ms);
        batch.push(
          (async () => {
            const token = await requestAccessToken(
              { tenant: tenant.id, tokenUrl: tenant.tokenUrl! },
              { clientId: CLIENT_ID, keys: w.keys, fetch, ...w.common },
            );
            const res = await fetch(`${tenant.stu3BaseUrl}/Appointment/$find`, {
              method: 'POST',
              headers: {
                Authorization: `Bearer ${token.access_token}`,
                'Epic-Client-ID': CLIENT_ID,
                'Content-Type': 'application/fhir+json',
              },
              body: JSON.stringify({
                resourceType: 'Parameters',
                parameter: [
                  { name: 'startTime', valueDateTime: window.start },
                  { name: 'endTime', valueDateTime: window.end },
                ],
              }),
            });
            await res.text();
            if (res.status !== 200) non200++;
          })(),
        );
      }
      await Promise.all(batch);
    }
    return {
      kmsSign: w.aws.kms.commandCalls(SignCommand).length,
      epicTokenRequests: w.orgIds.reduce((n, id) => n + w.simulator.stats(id).tokenRequests, 0),
      secretsManagerWrites: 0,
      secretsManagerReads: 0,
      requestPathMints: settings.requests,
      requestPathMintCalls: settings.requests,
      warmerMints: 0,
      non200,
    };
  } finally {
    await w.close();
  }
}

export async function measureTokenEconomy(
  settings: EconomySettings = DEFAULT_ECONOMY,
  log: (line: string) => void = () => {},
): Promise<EconomyResult> {
  const idealPerTenant = Math.ceil(
    settings.windowSeconds / (settings.tokenLifetimeSeconds - settings.safetyMarginSeconds),
  );
  // As deployed: the warmer (every warmerIntervalSeconds) refreshes a token once less than two
  // intervals plus the safety margin are left, so each token serves as long as it safely can.
  const name = `as deployed (warmer every ${settings.warmerIntervalSeconds / 60} min)`;
  log(`token economy: ${name}`);
  const scenarios: EconomyResult['scenarios'] = [
    { name, warmerIntervalSeconds: settings.warmerIntervalSeconds, counts: await ours(settings) },
  ];
  log('token economy: naive client');
  return {
    settings,
    idealPerTenant,
    ideal: idealPerTenant * settings.tenants,
    scenarios,
    naive: await naive(settings),
  };
}
