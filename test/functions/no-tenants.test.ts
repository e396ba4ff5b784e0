import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantRegistry } from '../../functions/core/config/tenants.js';
import type { ReaderDependencies } from '../../functions/core/dependencies.js';
import type { SigningKeys } from '../../functions/core/keys/types.js';
import { TokenMintingService } from '../../functions/core/tokens/token-minter.js';
import type { TokenProvider } from '../../functions/core/tokens/types.js';
import { createFindSlotsHandler } from '../../functions/find-slots/handler.js';
import { readMinterConfig, readReaderConfig } from '../../functions/lambda/config.js';
import { createRefreshHandler } from '../../functions/refresh/handler.js';
import { createMinterHandler } from '../../functions/token-minter/handler.js';
import { lambdaContext, toApiGatewayEvent } from '../../local/runtime/api-gateway-adapter.js';
import { FakeClock, MemoryLogger, MemoryTokenStore, RecordingMetrics } from '../helpers/fakes.js';

/**
 * An environment with no tenant yet (prod before its first health system), configured the way the
 * stack configures it: TENANTS_FILE names a bundled `{"tenants": []}`. The functions start, every
 * tenant-taking route answers 404 `unknown_tenant`, and the warmer has nothing to do. Nothing may
 * reach a token, a key or Epic, so those fakes fail loudly.
 */
const unexpected = (what: string) => () => {
  throw new Error(`unexpected call: ${what}`);
};
const noTokens: TokenProvider = {
  getToken: unexpected('getToken'),
  forceRefresh: unexpected('forceRefresh'),
  invalidate: unexpected('invalidate'),
};
const noKeys: SigningKeys = {
  publicKeys: unexpected('publicKeys'),
  activeKey: unexpected('activeKey'),
  sign: unexpected('sign'),
};
const noEpic = unexpected('fetch') as unknown as typeof fetch;

function post(path: string, body: unknown): APIGatewayProxyEvent {
  const req = {
    url: path,
    method: 'POST',
    headers: { 'content-type': 'application/json', host: 'abc.execute-api.eu-west-2.amazonaws.com' },
    socket: { remoteAddress: '10.0.0.1' },
  } as unknown as Parameters<typeof toApiGatewayEvent>[0];
  return toApiGatewayEvent(req, Buffer.from(JSON.stringify(body)), path, 'prod');
}

describe('an environment with no tenant yet', () => {
  let taskRoot: string;
  let env: Record<string, string>;
  let clock: FakeClock;

  beforeAll(() => {
    taskRoot = mkdtempSync(join(tmpdir(), 'lambda-no-tenants-'));
    writeFileSync(join(taskRoot, 'tenants.json'), '{"tenants": []}');
    env = {
      EPIC_CLIENT_ID: '5a684d86-fa5e-48c0-ad06-233701199d87',
      EPIC_ENVIRONMENT: 'prod',
      TENANTS_FILE: 'tenants.json',
      LAMBDA_TASK_ROOT: taskRoot,
      TOKEN_SECRET_PREFIX: 'epic/prod/token/',
      MINTER_FUNCTION_NAME: 'minter',
      SIGNING_KEYS_JSON: JSON.stringify([{ keyId: 'k', alg: 'RS384', state: 'active' }]),
    };
    clock = new FakeClock(Date.parse('2026-12-04T10:00:00Z'));
  });

  afterAll(() => {
    rmSync(taskRoot, { recursive: true, force: true });
  });

  function readerDeps(): ReaderDependencies {
    const config = readReaderConfig(env);
    return {
      clientId: config.clientId,
      tenants: new TenantRegistry(config.tenants.tenants),
      tokens: noTokens,
      fetch: noEpic,
      clock,
      sleep: async () => {},
      random: () => 0,
      logger: new MemoryLogger(),
      metrics: new RecordingMetrics(),
    };
  }

  it('answers a token refresh 404 unknown_tenant, saying no tenant is configured yet', async () => {
    // Arrange
    const refresh = createRefreshHandler(readerDeps());
    // Act
    const res = await refresh(
      post('/epic/oauth/refresh', { tenant: 'st-elsewhere' }),
      lambdaContext('refresh'),
    );
    // Assert
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({
      error: 'unknown_tenant',
      message: 'Unknown tenant "st-elsewhere". No tenants are configured in this environment yet.',
      details: { field: 'tenant', tenant: 'st-elsewhere', knownTenants: [] },
    });
  });

  it('answers find-slots 404 unknown_tenant before reaching Epic', async () => {
    const findSlots = createFindSlotsHandler(readerDeps());
    const res = await findSlots(
      post('/epic/find-slots', {
        tenant: 'st-elsewhere',
        start: '2026-12-07T08:00:00Z',
        end: '2026-12-08T18:00:00Z',
      }),
      lambdaContext('findSlots'),
    );
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'unknown_tenant' });
  });

  it('says so when a caller leaves the tenant out', async () => {
    const refresh = createRefreshHandler(readerDeps());
    const res = await refresh(post('/epic/oauth/refresh', {}), lambdaContext('refresh'));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toBe(
      '"tenant" is required: no tenants are configured in this environment yet.',
    );
  });

  it('warms nothing: the warmer summary is all zeros', async () => {
    // Arrange
    const config = readMinterConfig(env);
    const store = new MemoryTokenStore();
    const logger = new MemoryLogger();
    const minter = new TokenMintingService({
      clientId: config.clientId,
      tenants: new TenantRegistry(config.tenants.tenants),
      store,
      keys: noKeys,
      tokenUrls: { tokenUrl: unexpected('tokenUrl') },
      fetch: noEpic,
      clock,
      sleep: async () => {},
      random: () => 0,
      logger,
      metrics: new RecordingMetrics(),
    });
    const handler = createMinterHandler({ minter, logger });
    // Act
    const summary = await handler({ action: 'warm' });
    // Assert
    expect(summary).toEqual({ refreshed: 0, fresh: 0, repaired: 0, failed: 0, tenants: [] });
    expect(store.reads + store.writes).toBe(0);
    expect(logger.codes()).toContain('WARMER_COMPLETED');
  });
});
