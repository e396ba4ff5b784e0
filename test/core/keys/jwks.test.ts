import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { thumbprint } from '../../../functions/core/keys/jwk.js';
import { buildJwks } from '../../../functions/core/keys/jwks.js';
import type { PublicJwk, PublicSigningKey } from '../../../functions/core/keys/types.js';
import { FakeSigningKeys } from './fake-signing-keys.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

describe('buildJwks', () => {
  it('publishes the active key first, then the next key, and leaves retired keys out', async () => {
    // Arrange
    const keys = await FakeSigningKeys.generate([
      { keyId: 'old', alg: 'RS384', state: 'retired' },
      { keyId: 'new', alg: 'ES384', state: 'next' },
      { keyId: 'cur', alg: 'RS384', state: 'active' },
    ]);
    const kidOf = (keyId: string) => keys.keys.find((k) => k.keyId === keyId)!.kid;

    // Act
    const jwks = await buildJwks(keys);

    // Assert
    expect(jwks.keys.map((k) => k.kid)).toEqual([kidOf('cur'), kidOf('new')]);
    expect(jwks.keys.map((k) => k.kid)).not.toContain(kidOf('old'));
  });

  it('keeps only kty, kid, alg, use and the public members, even if a key leaks private ones', async () => {
    // Arrange: a key object that carries every private RSA and EC member
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' });
    const leaky = (jwk: object, alg: 'RS384' | 'ES384', state: 'active' | 'next'): PublicSigningKey => ({
      kid: `kid-${alg}`,
      alg,
      state,
      keyId: alg,
      jwk: {
        ...jwk,
        kid: `kid-${alg}`,
        alg,
        use: 'sig',
        ext: true,
        key_ops: ['sign'],
      } as unknown as PublicJwk,
    });
    const keys = new FakeSigningKeys([leaky(rsa, 'RS384', 'active'), leaky(ec, 'ES384', 'next')]);

    // Act
    const jwks = await buildJwks(keys);

    // Assert
    const [rsaJwk, ecJwk] = jwks.keys;
    expect(Object.keys(rsaJwk!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(Object.keys(ecJwk!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    for (const jwk of jwks.keys) {
      for (const member of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(member);
    }
    expect(JSON.stringify(jwks)).not.toContain(rsa.d!);
    expect(JSON.stringify(jwks)).not.toContain(ec.d!);
  });

  it('gives every key a kid equal to its recomputed RFC 7638 thumbprint and use "sig"', async () => {
    // Arrange
    const keys = await FakeSigningKeys.generate([
      { keyId: 'cur', alg: 'ES384', state: 'active' },
      { keyId: 'new', alg: 'RS384', state: 'next' },
    ]);

    // Act
    const jwks = await buildJwks(keys);

    // Assert
    for (const jwk of jwks.keys) {
      expect(jwk.use).toBe('sig');
      expect(jwk.kid).toBe(await thumbprint(jwk));
    }
  });
});
