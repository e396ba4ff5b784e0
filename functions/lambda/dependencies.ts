import { createKmsClient, createLambdaClient, createSecretsManagerClient } from '../core/aws/clients.js';
import { KmsSigningKeys } from '../core/aws/kms-signing-keys.js';
import { LambdaTokenMinter } from '../core/aws/lambda-token-minter.js';
import { SecretsManagerTokenStore } from '../core/aws/secrets-manager-token-store.js';
import { realSleep, systemClock } from '../core/clock.js';
import { TenantRegistry } from '../core/config/tenants.js';
import type { ReaderDependencies } from '../core/dependencies.js';
import { createTokenUrlResolver } from '../core/epic/smart-configuration.js';
import { logger, powertoolsMetrics } from '../core/observability/powertools.js';
import { TokenMintingService } from '../core/tokens/token-minter.js';
import { CachingTokenProvider } from '../core/tokens/token-provider.js';
import type { JwksDependencies } from '../jwks/handler.js';
import type { PreflightHandlerDependencies } from '../preflight/handler.js';
import { readJwksConfig, readMinterConfig, readReaderConfig } from './config.js';

/**
 * Composition roots for the Lambdas: each builds its dependencies once per container from the
 * environment (functions/lambda/config.ts). The local runtime has its own (local/runtime/app.ts).
 */

/** What every composition root shares: real time, real randomness, global fetch, Powertools. */
const runtime = {
  fetch: globalThis.fetch,
  clock: systemClock,
  sleep: realSleep,
  random: Math.random,
  logger,
  metrics: powertoolsMetrics,
};

function tokenStore(secretPrefix: string): SecretsManagerTokenStore {
  return new SecretsManagerTokenStore({ client: createSecretsManagerClient(), secretPrefix, logger });
}

let reader: ReaderDependencies | undefined;

export function readerDependencies(): ReaderDependencies {
  if (reader) return reader;
  const config = readReaderConfig();
  const store = tokenStore(config.tokenSecretPrefix);
  const minter = new LambdaTokenMinter({
    ...runtime,
    client: createLambdaClient(),
    functionName: config.minterFunctionName,
    store,
    safetyMarginSeconds: config.safetyMarginSeconds,
  });
  reader = {
    ...runtime,
    clientId: config.clientId,
    tenants: new TenantRegistry(config.tenants.tenants),
    tokens: new CachingTokenProvider({
      ...runtime,
      store,
      minter,
      safetyMarginSeconds: config.safetyMarginSeconds,
    }),
  };
  return reader;
}

let minter: { minter: TokenMintingService; logger: typeof logger } | undefined;

export function minterDependencies() {
  if (minter) return minter;
  const config = readMinterConfig();
  const service = new TokenMintingService({
    ...runtime,
    clientId: config.clientId,
    tenants: new TenantRegistry(config.tenants.tenants),
    store: tokenStore(config.tokenSecretPrefix),
    keys: new KmsSigningKeys(createKmsClient(), config.signingKeys, logger),
    tokenUrls: createTokenUrlResolver(runtime),
    settings: {
      forceMinIntervalSeconds: config.forceRefreshMinIntervalSeconds,
      safetyMarginSeconds: config.safetyMarginSeconds,
      warmerIntervalSeconds: config.warmerIntervalSeconds,
    },
  });
  minter = { minter: service, logger };
  return minter;
}

let jwks: JwksDependencies | undefined;

export function jwksDependencies(): JwksDependencies {
  if (jwks) return jwks;
  const config = readJwksConfig();
  jwks = {
    keys: new KmsSigningKeys(createKmsClient(), config.signingKeys, logger),
    maxAgeSeconds: config.maxAgeSeconds,
    logger,
  };
  return jwks;
}

let preflight: PreflightHandlerDependencies | undefined;

/** Preflight is a token reader that also names the active key (kms:GetPublicKey only). */
export function preflightDependencies(): PreflightHandlerDependencies {
  if (preflight) return preflight;
  const reader = readerDependencies();
  const keys = new KmsSigningKeys(createKmsClient(), readJwksConfig().signingKeys, logger);
  const publicBaseUrl = process.env.PUBLIC_BASE_URL;
  preflight = {
    reader,
    tokenUrls: createTokenUrlResolver(runtime),
    activeKid: async () => (await keys.activeKey()).kid,
    ...(publicBaseUrl ? { publicBaseUrl } : {}),
  };
  return preflight;
}
