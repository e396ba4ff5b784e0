import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KMSClient,
  SignCommand,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { ConfigError, DependencyError } from '../errors/app-error.js';
import { derToJoseSignature } from '../keys/ecdsa-der.js';
import { spkiDerToPublicJwk } from '../keys/jwk.js';
import { parseKeyConfigs } from '../keys/key-config.js';
import type { KeyConfig, PublicSigningKey, SigningAlg, SigningKeys } from '../keys/types.js';
import type { AppLogger } from '../observability/powertools.js';

const KEY_SPECS: Record<SigningAlg, readonly string[]> = {
  RS384: ['RSA_2048', 'RSA_3072', 'RSA_4096'],
  ES384: ['ECC_NIST_P384'],
};

const SIGNING_ALGORITHM: Record<SigningAlg, SigningAlgorithmSpec> = {
  RS384: 'RSASSA_PKCS1_V1_5_SHA_384',
  ES384: 'ECDSA_SHA_384',
};

/** What an operator should do about the KMS errors we expect; the rest are reported by name only. */
const KMS_HINTS: Record<string, string> = {
  ThrottlingException: 'KMS throttled the request after the SDK retries; retry shortly',
  AccessDeniedException: 'the function role or the key policy does not allow this call',
  DisabledException: 'the key is disabled; enable it, or mark it retired in the key list',
  KMSInvalidStateException: 'the key is pending deletion, pending import or unavailable',
  NotFoundException: 'no such key, alias or ARN in this account and region',
  KeyUnavailableException: 'the key is temporarily unavailable; retry shortly',
  KMSInternalException: 'KMS had an internal error; retry shortly',
  DependencyTimeoutException: 'KMS timed out; retry shortly',
  TimeoutError: 'the request to KMS timed out',
};

interface LoadedKey extends PublicSigningKey {
  /** The key ARN GetPublicKey resolved the configured id (or alias) to; Sign uses it. */
  arn: string;
}

function kmsFailure(operation: string, keyId: string, cause: unknown): DependencyError {
  const name = cause instanceof Error && cause.name ? cause.name : 'UnknownError';
  const hint = KMS_HINTS[name];
  return new DependencyError(
    'signing_unavailable',
    `KMS ${operation} with key "${keyId}" failed: ${name}${hint ? ` (${hint})` : ''}.`,
    { cause, details: { kmsError: name, keyId, operation } },
  );
}

/**
 * Signing keys held in AWS KMS. Public keys are fetched with `GetPublicKey` once per container (a
 * failed fetch is retried on the next call); signing is `Sign` with `MessageType: RAW`, so the
 * private key never leaves KMS.
 */
export class KmsSigningKeys implements SigningKeys {
  private readonly keys: readonly KeyConfig[];
  private readonly cache = new Map<string, Promise<LoadedKey>>();

  constructor(
    private readonly kms: KMSClient,
    keys: KeyConfig[],
    private readonly logger?: AppLogger,
  ) {
    this.keys = parseKeyConfigs(keys, 'KMS signing keys');
  }

  /**
   * The active key must load; a `next` key that cannot be loaded (disabled, access denied) is left
   * out and logged, so one broken incoming key never takes the active key out of the JWK Set.
   */
  async publicKeys(): Promise<PublicSigningKey[]> {
    const published = this.keys.filter((k) => k.state !== 'retired');
    const results = await Promise.allSettled(published.map((k) => this.load(k)));
    const keys: PublicSigningKey[] = [];
    results.forEach((result, i) => {
      const config = published[i]!;
      if (result.status === 'fulfilled') keys.push(publicView(result.value));
      else if (config.state === 'active') throw result.reason;
      else {
        this.logger?.error('SIGNING_KEY_UNAVAILABLE', {
          keyId: config.keyId,
          state: config.state,
          errorCode: (result.reason as { details?: { kmsError?: string } })?.details?.kmsError ?? 'unknown',
        });
      }
    });
    return keys;
  }

  async activeKey(): Promise<PublicSigningKey> {
    // parseKeyConfigs guarantees exactly one active key.
    return publicView(await this.load(this.keys.find((k) => k.state === 'active')!));
  }

  async sign(kid: string, signingInput: Uint8Array): Promise<Uint8Array> {
    const key = await this.findByKid(kid);
    let signature: Uint8Array | undefined;
    try {
      const output = await this.kms.send(
        new SignCommand({
          KeyId: key.arn,
          Message: signingInput,
          MessageType: 'RAW',
          SigningAlgorithm: SIGNING_ALGORITHM[key.alg],
        }),
      );
      signature = output.Signature;
    } catch (cause) {
      throw kmsFailure('Sign', key.keyId, cause);
    }
    if (signature === undefined || signature.length === 0)
      throw new DependencyError(
        'signing_unavailable',
        `KMS Sign with key "${key.keyId}" returned no signature.`,
        {
          details: { keyId: key.keyId, operation: 'Sign' },
        },
      );
    if (key.alg === 'RS384') return signature;
    try {
      return derToJoseSignature(signature, 48);
    } catch (cause) {
      throw new DependencyError(
        'signing_unavailable',
        `KMS Sign with key "${key.keyId}" returned a signature that is not a P-384 DER ECDSA-Sig-Value.`,
        { cause, details: { keyId: key.keyId, operation: 'Sign' } },
      );
    }
  }

  private async findByKid(kid: string): Promise<LoadedKey> {
    const published = this.keys.filter((k) => k.state !== 'retired');
    // The minter asks for activeKey() first, so the key is normally already loaded.
    for (const config of published) {
      const cached = this.cache.get(config.keyId);
      if (cached === undefined) continue;
      const key = await cached.catch(() => undefined);
      if (key?.kid === kid) return key;
    }
    const all = await Promise.all(published.map((k) => this.load(k)));
    const key = all.find((k) => k.kid === kid);
    if (key === undefined)
      throw new DependencyError(
        'signing_unavailable',
        `No active or next KMS signing key has kid "${kid}"; it may have been retired.`,
        { details: { kid } },
      );
    return key;
  }

  private load(config: KeyConfig): Promise<LoadedKey> {
    let promise = this.cache.get(config.keyId);
    if (promise === undefined) {
      promise = this.fetch(config);
      this.cache.set(config.keyId, promise);
      // A failed fetch is not cached: the next call asks KMS again.
      promise.catch(() => {
        if (this.cache.get(config.keyId) === promise) this.cache.delete(config.keyId);
      });
    }
    return promise;
  }

  private async fetch(config: KeyConfig): Promise<LoadedKey> {
    let output: GetPublicKeyCommandOutput;
    try {
      output = await this.kms.send(new GetPublicKeyCommand({ KeyId: config.keyId }));
    } catch (cause) {
      throw kmsFailure('GetPublicKey', config.keyId, cause);
    }
    const source = `KMS signing key "${config.keyId}"`;
    const problems: string[] = [];
    if (output.KeyUsage !== 'SIGN_VERIFY')
      problems.push(`KeyUsage is ${output.KeyUsage ?? 'missing'} but signing needs SIGN_VERIFY`);
    const spec = output.KeySpec ?? 'missing';
    if (!KEY_SPECS[config.alg].includes(spec))
      problems.push(`KeySpec is ${spec} but alg ${config.alg} needs ${KEY_SPECS[config.alg].join(' or ')}`);
    if (output.PublicKey === undefined || output.PublicKey.length === 0)
      problems.push('GetPublicKey returned no public key');
    if (problems.length > 0) throw new ConfigError(source, problems);

    const jwk = await spkiDerToPublicJwk(output.PublicKey!, config.alg, config.keyId);
    return {
      kid: jwk.kid,
      alg: config.alg,
      state: config.state,
      keyId: config.keyId,
      jwk,
      arn: output.KeyId ?? config.keyId,
    };
  }
}

function publicView(key: LoadedKey): PublicSigningKey {
  return { kid: key.kid, alg: key.alg, state: key.state, keyId: key.keyId, jwk: { ...key.jwk } };
}
