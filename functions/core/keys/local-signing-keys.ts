import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, DependencyError } from '../errors/app-error.js';
import { keyObjectToPublicJwk } from './jwk.js';
import { parseKeyConfigs } from './key-config.js';
import type { KeyConfig, PublicSigningKey, SigningAlg, SigningKeys } from './types.js';

export const LOCAL_KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

interface LoadedKey {
  info: PublicSigningKey;
  privateKey: KeyObject;
}

const isErrno = (e: unknown, code: string): boolean =>
  typeof e === 'object' && e !== null && (e as NodeJS.ErrnoException).code === code;

function generatePem(alg: SigningAlg): string {
  const { privateKey } =
    alg === 'RS384'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
      : generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
}

async function loadOrCreatePem(file: string, alg: SigningAlg): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
  const pem = generatePem(alg);
  try {
    // 'wx': never overwrite a key another process created a moment ago.
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return readFile(file, 'utf8');
    throw error;
  }
  return pem;
}

/**
 * File-backed signing keys for `npm start` and tests: `<stateDir>/keys/<keyId>.pem` (PKCS#8),
 * generated on first start (RSA 2048 for RS384, P-384 for ES384). The directory is mode 0700 and
 * each key file 0600. Retired keys are neither loaded nor generated.
 */
export class LocalSigningKeys implements SigningKeys {
  private readonly byKid: ReadonlyMap<string, LoadedKey>;
  private readonly published: PublicSigningKey[];

  private constructor(loaded: LoadedKey[]) {
    this.byKid = new Map(loaded.map((k) => [k.info.kid, k]));
    this.published = loaded.map((k) => k.info);
  }

  static async open(opts: { stateDir: string; keys: KeyConfig[] }): Promise<LocalSigningKeys> {
    const keys = parseKeyConfigs(opts.keys, 'Local signing keys');
    const badIds = keys.flatMap((k, i) =>
      LOCAL_KEY_ID_PATTERN.test(k.keyId)
        ? []
        : [`keys[${i}].keyId: "${k.keyId}" must match ${LOCAL_KEY_ID_PATTERN} (it names a file)`],
    );
    if (badIds.length > 0) throw new ConfigError('Local signing keys', badIds);

    const dir = join(opts.stateDir, 'keys');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);

    const loaded: LoadedKey[] = [];
    for (const config of keys) {
      if (config.state === 'retired') continue;
      const file = join(dir, `${config.keyId}.pem`);
      const pem = await loadOrCreatePem(file, config.alg);
      await chmod(file, 0o600);
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey({ key: pem, format: 'pem' });
      } catch (cause) {
        throw Object.assign(
          new ConfigError(`Signing key "${config.keyId}"`, [
            `keys/${config.keyId}.pem is not a readable PKCS#8 private key; delete it to generate a new one`,
          ]),
          { cause },
        );
      }
      const jwk = await keyObjectToPublicJwk(createPublicKey(privateKey), config.alg, config.keyId);
      loaded.push({
        info: { kid: jwk.kid, alg: config.alg, state: config.state, keyId: config.keyId, jwk },
        privateKey,
      });
    }
    return new LocalSigningKeys(loaded);
  }

  async publicKeys(): Promise<PublicSigningKey[]> {
    return this.published.map((k) => ({ ...k, jwk: { ...k.jwk } }));
  }

  async activeKey(): Promise<PublicSigningKey> {
    const active = this.published.find((k) => k.state === 'active');
    // parseKeyConfigs guarantees exactly one active key.
    return { ...active!, jwk: { ...active!.jwk } };
  }

  async sign(kid: string, signingInput: Uint8Array): Promise<Uint8Array> {
    const key = this.byKid.get(kid);
    if (key === undefined)
      throw new DependencyError(
        'signing_unavailable',
        `No active or next local signing key has kid "${kid}".`,
        {
          details: { kid },
        },
      );
    const signature =
      key.info.alg === 'ES384'
        ? cryptoSign('sha384', signingInput, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
        : cryptoSign('sha384', signingInput, key.privateKey);
    return new Uint8Array(signature);
  }
}
