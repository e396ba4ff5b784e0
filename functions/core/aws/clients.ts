import { KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';

/**
 * AWS clients, built once per container with bounded retries and timeouts. Region and credentials
 * come from the SDK's standard chain. Calling a factory with no argument returns the container's
 * shared client; passing overrides builds a new client with those settings on top of the defaults
 * (tests pass an endpoint, the local runtime may pass a region), and the caller keeps it.
 */
export const AWS_CLIENT_DEFAULTS = {
  /** Total attempts including the first; the SDK's standard retry mode backs off with jitter. */
  maxAttempts: 3,
  requestHandler: {
    connectionTimeout: 1_000,
    requestTimeout: 3_000,
    throwOnRequestTimeout: true,
  },
} as const;

/**
 * The minter's synchronous invoke waits for an Epic token request, so it gets a longer request
 * timeout than the KMS and Secrets Manager calls. One attempt: an invoke is not idempotent (a
 * timed-out one may still be minting), and LambdaTokenMinter handles throttling itself, looking in
 * the token store between tries.
 */
export const LAMBDA_CLIENT_DEFAULTS = {
  maxAttempts: 1,
  requestHandler: {
    connectionTimeout: 1_000,
    requestTimeout: 15_000,
    throwOnRequestTimeout: true,
  },
} as const;

type HandlerOptions = { requestHandler?: unknown };

/**
 * Overrides on top of defaults; a plain-object `requestHandler` is merged with the default one so a
 * caller that only changes `requestTimeout` keeps the connection timeout and throwOnRequestTimeout.
 */
function withDefaults<T extends HandlerOptions>(defaults: HandlerOptions, overrides: T): T {
  const handler = overrides.requestHandler;
  const plain =
    typeof handler === 'object' &&
    handler !== null &&
    typeof (handler as { handle?: unknown }).handle !== 'function';
  return {
    ...defaults,
    ...overrides,
    ...(plain ? { requestHandler: { ...(defaults.requestHandler as object), ...(handler as object) } } : {}),
  } as T;
}

let kms: KMSClient | undefined;
let secretsManager: SecretsManagerClient | undefined;
let lambda: LambdaClient | undefined;

export function createKmsClient(overrides?: KMSClientConfig): KMSClient {
  if (overrides !== undefined) return new KMSClient(withDefaults(AWS_CLIENT_DEFAULTS, overrides));
  kms ??= new KMSClient({ ...AWS_CLIENT_DEFAULTS });
  return kms;
}

export function createSecretsManagerClient(overrides?: SecretsManagerClientConfig): SecretsManagerClient {
  if (overrides !== undefined) return new SecretsManagerClient(withDefaults(AWS_CLIENT_DEFAULTS, overrides));
  secretsManager ??= new SecretsManagerClient({ ...AWS_CLIENT_DEFAULTS });
  return secretsManager;
}

export function createLambdaClient(overrides?: LambdaClientConfig): LambdaClient {
  if (overrides !== undefined) return new LambdaClient(withDefaults(LAMBDA_CLIENT_DEFAULTS, overrides));
  lambda ??= new LambdaClient({ ...LAMBDA_CLIENT_DEFAULTS });
  return lambda;
}
