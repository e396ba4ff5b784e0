import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createKmsClient, createSecretsManagerClient } from '../../functions/core/aws/clients.js';
import { KmsSigningKeys } from '../../functions/core/aws/kms-signing-keys.js';
import { SecretsManagerTokenStore } from '../../functions/core/aws/secrets-manager-token-store.js';
import { type Clock, realSleep, type Sleep, systemClock } from '../../functions/core/clock.js';
import { parseTenantsJson, type TenantConfig, TenantRegistry } from '../../functions/core/config/tenants.js';
import type { FetchFn, ReaderDependencies } from '../../functions/core/dependencies.js';
import {
  createTokenUrlResolver,
  type TokenUrlResolver,
} from '../../functions/core/epic/smart-configuration.js';
import { LocalSigningKeys } from '../../functions/core/keys/local-signing-keys.js';
import type { KeyConfig, SigningKeys } from '../../functions/core/keys/types.js';
import {
  type AppLogger,
  type AppMetrics,
  logger as defaultLogger,
  noopMetrics,
} from '../../functions/core/observability/powertools.js';
import { FileTokenStore } from '../../functions/core/tokens/file-token-store.js';
import { type MinterSettings, TokenMintingService } from '../../functions/core/tokens/token-minter.js';
import { CachingTokenProvider } from '../../functions/core/tokens/token-provider.js';
import type { TokenStore } from '../../functions/core/tokens/types.js';
import { createFindSlotsHandler } from '../../functions/find-slots/handler.js';
import { createIntegrationPageHandler } from '../../functions/integration-page/handler.js';
import { createJwksHandler } from '../../functions/jwks/handler.js';
import { createPreflightHandler } from '../../functions/preflight/handler.js';
import { createRefreshHandler } from '../../functions/refresh/handler.js';
import type { EpicSimulator } from '../epic-simulator/index.js';
import {
  type LambdaHttpHandler,
  lambdaContext,
  readBody,
  toApiGatewayEvent,
  writeResult,
} from './api-gateway-adapter.js';
import { builtInSandboxTenants, startEmbeddedSimulator } from './embedded-sandbox.js';

/**
 * The local runtime: the same Lambda handlers on a loopback HTTP server, a file-backed signing key
 * and token store, and (by default) the embedded Epic sandbox simulator, so `npm start` works on a
 * fresh machine with no AWS account. Settings: API.md, "Local runtime".
 */

/** The non-production client id (EPIC.md, "App registration"). */
export const NONPROD_CLIENT_ID = '87b94317-7a53-4a96-8a89-998bd31f3ade';
export const PROD_CLIENT_ID = '5a684d86-fa5e-48c0-ad06-233701199d87';

export const DEFAULT_LOCAL_KEYS: KeyConfig[] = [{ keyId: 'local-rs384', alg: 'RS384', state: 'active' }];

export interface LocalRuntimeOptions {
  /** API port on 127.0.0.1; 0 = ephemeral (tests). */
  port?: number;
  stateDir: string;
  clientId?: string;
  /** Path to a tenants JSON file; unset = built-in sandbox tenants on the embedded simulator. */
  tenantsFile?: string;
  keySource?: 'local' | 'kms';
  /** KEY_SOURCE=kms: KMS key ids, first = active, the rest `next`. */
  kmsKeyIds?: string[];
  /** KEY_SOURCE=local: the local keys and their states (default one RS384 key). */
  localKeys?: KeyConfig[];
  tokenStore?: 'file' | 'secretsmanager';
  tokenSecretPrefix?: string;
  jwksMaxAgeSeconds?: number;
  /** Options for the embedded simulator (ignored with tenantsFile). */
  simulator?: { port?: number; tokenLifetimeSeconds?: number };
  clock?: Clock;
  sleep?: Sleep;
  random?: () => number;
  fetch?: FetchFn;
  logger?: AppLogger;
  metrics?: AppMetrics;
  minterSettings?: Partial<MinterSettings>;
  /** Runs the token warmer on this interval, as the EventBridge schedule does in AWS (unset = off). */
  warmerIntervalMs?: number;
  /** Wraps the token store (tests inject faults or count writes). */
  wrapStore?: (store: TokenStore) => TokenStore;
}

export interface LocalRoute {
  method: 'GET' | 'POST';
  path: string;
  handler: LambdaHttpHandler;
}

export interface LocalRuntime {
  url: string;
  jwksUrl: string;
  refreshUrl: string;
  tenants: TenantRegistry;
  simulator?: EpicSimulator;
  reader: ReaderDependencies;
  minter: TokenMintingService;
  /** The token URL resolver the minter and preflight share. */
  tokenUrls: TokenUrlResolver;
  store: TokenStore;
  keys: SigningKeys;
  routes: LocalRoute[];
  /** Key rotation without a restart: replaces the configured local keys and their states. */
  setLocalKeys(keys: KeyConfig[]): Promise<void>;
  close(): Promise<void>;
}

/** Lets the runtime swap its keys (rotation) while handlers keep one reference. */
class SwappableSigningKeys implements SigningKeys {
  constructor(private current: SigningKeys) {}
  swap(next: SigningKeys): void {
    this.current = next;
  }
  publicKeys() {
    return this.current.publicKeys();
  }
  activeKey() {
    return this.current.activeKey();
  }
  sign(kid: string, input: Uint8Array) {
    return this.current.sign(kid, input);
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function createLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const fetchFn = options.fetch ?? globalThis.fetch;
  const logger = options.logger ?? defaultLogger;
  const metrics = options.metrics ?? noopMetrics;
  const clientId = options.clientId ?? NONPROD_CLIENT_ID;

  // 1. The HTTP server first: the simulator needs our JWK Set URL.
  const routes: LocalRoute[] = [];
  const server = createServer(async (req, res) => {
    try {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.replace(/\/+$/, '') || '/';
      const sameP = routes.filter((r) => r.path === path);
      const route = sameP.find((r) => r.method === req.method);
      if (!route) {
        const status = sameP.length ? 405 : 404;
        const body = sameP.length
          ? {
              error: 'method_not_allowed',
              message: `Use ${sameP.map((r) => r.method).join(' or ')} ${path}.`,
              details: {},
            }
          : {
              error: 'not_found',
              message: `No route ${req.method} ${path}. Routes: ${routes.map((r) => `${r.method} ${r.path}`).join(', ')}.`,
              details: {},
            };
        writeResult(res, {
          statusCode: status,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        return;
      }
      const body = await readBody(req);
      if (body === 'too-large') {
        writeResult(res, {
          statusCode: 413,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            error: 'body_too_large',
            message: 'The request body is too large.',
            details: {},
          }),
        });
        return;
      }
      const result = await route.handler(toApiGatewayEvent(req, body, route.path), lambdaContext(route.path));
      writeResult(res, result);
    } catch (error) {
      logger.error('LOCAL_RUNTIME_FAILED', { errorName: (error as Error).name });
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ error: 'internal_error', message: 'Unexpected error; see the logs.', details: {} }),
      );
    }
  });
  const port = await listen(server, options.port ?? 0);
  const url = `http://127.0.0.1:${port}`;
  const jwksUrl = `${url}/epic/oauth`;

  // 2. Tenants: a file, or the built-in sandbox tenants on the embedded simulator.
  let simulator: EpicSimulator | undefined;
  let tenants: TenantConfig[];
  try {
    if (options.tenantsFile) {
      tenants = parseTenantsJson(await readFile(options.tenantsFile, 'utf8'), options.tenantsFile).tenants;
    } else {
      simulator = await startEmbeddedSimulator({
        clientId,
        jwksUrl,
        clock,
        fetch: fetchFn,
        ...(options.simulator?.port !== undefined ? { port: options.simulator.port } : {}),
        ...(options.simulator?.tokenLifetimeSeconds !== undefined
          ? { tokenLifetimeSeconds: options.simulator.tokenLifetimeSeconds }
          : {}),
      });
      tenants = builtInSandboxTenants(simulator);
    }
  } catch (error) {
    server.close();
    throw error;
  }
  const registry = new TenantRegistry(tenants);

  // 3. Keys and token store.
  const buildKeys = async (keys: KeyConfig[]): Promise<SigningKeys> =>
    options.keySource === 'kms'
      ? new KmsSigningKeys(createKmsClient(), keys)
      : LocalSigningKeys.open({ stateDir: options.stateDir, keys });
  const keyConfigs: KeyConfig[] =
    options.keySource === 'kms'
      ? (options.kmsKeyIds ?? []).map((keyId, i) => ({
          keyId,
          alg: 'RS384',
          // first = active, second = next (published, not signing), any further = retired
          state: i === 0 ? 'active' : i === 1 ? 'next' : 'retired',
        }))
      : (options.localKeys ?? DEFAULT_LOCAL_KEYS);
  const keys = new SwappableSigningKeys(await buildKeys(keyConfigs));
  const baseStore: TokenStore =
    options.tokenStore === 'secretsmanager'
      ? new SecretsManagerTokenStore({
          client: createSecretsManagerClient(),
          secretPrefix: options.tokenSecretPrefix ?? 'epic/local/token/',
          logger,
          createMissing: true,
        })
      : new FileTokenStore({ dir: join(options.stateDir, 'tokens'), logger });
  const store = options.wrapStore ? options.wrapStore(baseStore) : baseStore;

  // 4. The minter (called in-process locally) and the readers' token provider. One token URL
  // resolver (and its discovery cache) serves the minter and preflight.
  const tokenUrls = createTokenUrlResolver({ fetch: fetchFn, clock, logger });
  const minter = new TokenMintingService({
    clientId,
    tenants: registry,
    store,
    keys,
    tokenUrls,
    fetch: fetchFn,
    clock,
    sleep,
    random,
    logger,
    metrics,
    settings: {
      ...(options.warmerIntervalMs
        ? { warmerIntervalSeconds: Math.max(1, Math.round(options.warmerIntervalMs / 1000)) }
        : {}),
      ...options.minterSettings,
    },
  });
  const reader: ReaderDependencies = {
    clientId,
    tenants: registry,
    tokens: new CachingTokenProvider({ store, minter, clock, logger, metrics }),
    fetch: fetchFn,
    clock,
    sleep,
    random,
    logger,
    metrics,
  };

  // 5. The route table: the same handlers API Gateway calls.
  routes.push(
    {
      method: 'GET',
      path: '/epic/oauth',
      handler: createJwksHandler({ keys, maxAgeSeconds: options.jwksMaxAgeSeconds ?? 3600, logger }),
    },
    { method: 'POST', path: '/epic/oauth/refresh', handler: createRefreshHandler(reader) },
    { method: 'POST', path: '/epic/find-slots', handler: createFindSlotsHandler(reader) },
    {
      method: 'GET',
      path: '/epic',
      handler: createIntegrationPageHandler({
        config: { environment: 'nonprod', clientIds: { nonprod: clientId, prod: PROD_CLIENT_ID } },
        logger,
      }),
    },
    {
      method: 'POST',
      path: '/epic/preflight',
      handler: createPreflightHandler({
        reader,
        tokenUrls,
        activeKid: async () => (await keys.activeKey()).kid,
        jwksUrl,
      }),
    },
  );

  // 6. The warmer schedule (EventBridge in AWS).
  const warmer =
    options.warmerIntervalMs && options.warmerIntervalMs > 0
      ? setInterval(() => {
          minter
            .warm()
            .catch((error: unknown) => logger.error('WARMER_FAILED', { errorName: (error as Error).name }));
        }, options.warmerIntervalMs)
      : undefined;
  warmer?.unref();

  return {
    url,
    jwksUrl,
    refreshUrl: `${url}/epic/oauth/refresh`,
    tenants: registry,
    ...(simulator ? { simulator } : {}),
    reader,
    minter,
    tokenUrls,
    store,
    keys,
    routes,
    async setLocalKeys(next) {
      keys.swap(await buildKeys(next));
    },
    async close() {
      if (warmer) clearInterval(warmer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await simulator?.close();
    },
  };
}
