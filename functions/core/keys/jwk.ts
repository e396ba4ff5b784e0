import { createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { ConfigError } from '../errors/app-error.js';
import type { PublicJwk, SigningAlg } from './types.js';

const MIN_RSA_BITS = 2048;

/** The RFC 7638 SHA-256 thumbprint (base64url) of a public JWK: our `kid`. */
export async function thumbprint(
  jwk: Pick<PublicJwk, 'kty' | 'n' | 'e' | 'crv' | 'x' | 'y'>,
): Promise<string> {
  return calculateJwkThumbprint(
    jwk.kty === 'RSA' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y },
    'sha256',
  );
}

/**
 * Builds the public JWK for `alg` from a public key object, checking that the key suits the
 * algorithm the way Epic requires (RS384: RSA >= 2048 bits; ES384: P-384). `keyName` names the key in
 * the ConfigError.
 */
export async function keyObjectToPublicJwk(
  key: KeyObject,
  alg: SigningAlg,
  keyName = 'signing key',
): Promise<PublicJwk> {
  const source = `Signing key "${keyName}"`;
  if (key.type !== 'public') throw new ConfigError(source, [`expected a public key, got a ${key.type} key`]);
  const exported = key.export({ format: 'jwk' });
  if (alg === 'RS384') {
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (key.asymmetricKeyType !== 'rsa' || exported.n === undefined || exported.e === undefined)
      throw new ConfigError(source, [
        `alg RS384 needs an RSA key, got ${key.asymmetricKeyType ?? 'unknown'}`,
      ]);
    if (bits === undefined || bits < MIN_RSA_BITS)
      throw new ConfigError(source, [
        `alg RS384 needs an RSA key of at least ${MIN_RSA_BITS} bits, got ${bits}`,
      ]);
    const jwk = { kty: 'RSA' as const, n: exported.n, e: exported.e };
    return { kty: 'RSA', kid: await thumbprint(jwk), alg, use: 'sig', n: jwk.n, e: jwk.e };
  }
  if (
    key.asymmetricKeyType !== 'ec' ||
    exported.crv !== 'P-384' ||
    exported.x === undefined ||
    exported.y === undefined
  ) {
    const got =
      key.asymmetricKeyType === 'ec' ? `curve ${exported.crv}` : (key.asymmetricKeyType ?? 'unknown');
    throw new ConfigError(source, [`alg ES384 needs an EC key on P-384, got ${got}`]);
  }
  const jwk = { kty: 'EC' as const, crv: 'P-384' as const, x: exported.x, y: exported.y };
  return { kty: 'EC', kid: await thumbprint(jwk), alg, use: 'sig', crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/**
 * Converts a DER SubjectPublicKeyInfo (what KMS `GetPublicKey` returns) to a public JWK whose `kid`
 * is its RFC 7638 thumbprint. Only public members are kept.
 */
export async function spkiDerToPublicJwk(
  der: Uint8Array,
  alg: SigningAlg,
  keyName = 'signing key',
): Promise<PublicJwk> {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch (cause) {
    const error = new ConfigError(`Signing key "${keyName}"`, [
      `the public key is not a readable DER SubjectPublicKeyInfo (${(cause as Error).message})`,
    ]);
    throw Object.assign(error, { cause });
  }
  return keyObjectToPublicJwk(key, alg, keyName);
}
