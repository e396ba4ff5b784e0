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
import { readJwksConfig, readMinterConfig, readReaderConfig } from './config.js';

/**
 * Composition roots for the Lambdas: each builds its dependencies once per container from the
 * environment (functions/lambda/config.ts). The local runtime has its own (local/runtime/app.ts).
 */
let reader: ReaderDependencies | undefined;

export function readerDependencies(): ReaderDependencies {
  if (reader) return reader;
  const config = readReaderConfig();
  const store = new SecretsManagerTokenStore({
    client: createSecretsManagerClient(),
    secretPrefix: config.tokenSecretPrefix,
    logger,
  });
  const minter = new LambdaTokenMinter({
    client: createLambdaClient(),
    functionName: config.minterFunctionName,
    store,
    clock: systemClock,
    sleep: realSleep,
    random: Math.random,
    logger,
    safetyMarginSeconds: config.safetyMarginSeconds,
  });
  reader = {
    clientId: config.clientId,
    tenants: new TenantRegistry(config.tenants.tenants),
    tokens: new CachingTokenProvider({
      store,
      minter,
      clock: systemClock,
      logger,
      metrics: powertoolsMetrics,
      safetyMarginSeconds: config.safetyMarginSeconds,
    }),
    fetch: globalThis.fetch,
    clock: systemClock,
    sleep: realSleep,
    random: Math.random,
    logger,
    metrics: powertoolsMetrics,
  };
  return reader;
}

let minter: { minter: TokenMintingService; logger: typeof logger } | undefined;

export function minterDependencies() {
  if (minter) return minter;
  const config = readMinterConfig();
  const service = new TokenMintingService({
    clientId: config.clientId,
    tenants: new TenantRegistry(config.tenants.tenants),
    store: new SecretsManagerTokenStore({
      client: createSecretsManagerClient(),
      secretPrefix: config.tokenSecretPrefix,
      logger,
    }),
    keys: new KmsSigningKeys(createKmsClient(), config.signingKeys, logger),
    tokenUrls: createTokenUrlResolver({ fetch: globalThis.fetch, clock: systemClock, logger }),
    fetch: globalThis.fetch,
    clock: systemClock,
    sleep: realSleep,
    random: Math.random,
    logger,
    metrics: powertoolsMetrics,
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
