import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/core/errors/app-error.js';
import { spkiDerToPublicJwk, thumbprint } from '../../../functions/core/keys/jwk.js';

const spki = (key: import('node:crypto').KeyObject) =>
  new Uint8Array(key.export({ format: 'der', type: 'spki' }));

describe('thumbprint', () => {
  it("matches RFC 7638's worked example", async () => {
    // Arrange: RFC 7638 section 3.1
    const jwk = {
      kty: 'RSA' as const,
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
    };

    // Act
    const kid = await thumbprint(jwk);

    // Assert
    expect(kid).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
});

describe('spkiDerToPublicJwk', () => {
  describe('with an RSA 2048 key for RS384', () => {
    it('returns the public JWK with only public members and its thumbprint as kid', async () => {
      // Arrange
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const expected = publicKey.export({ format: 'jwk' });

      // Act
      const jwk = await spkiDerToPublicJwk(spki(publicKey), 'RS384');

      // Assert
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS384', use: 'sig', n: expected.n, e: expected.e });
      expect(jwk.kid).toBe(await thumbprint({ kty: 'RSA', n: expected.n, e: expected.e }));
    });
  });

  describe('with a P-384 key for ES384', () => {
    it('returns crv, x and y and its thumbprint as kid', async () => {
      // Arrange
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      const expected = publicKey.export({ format: 'jwk' });

      // Act
      const jwk = await spkiDerToPublicJwk(spki(publicKey), 'ES384');

      // Assert
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-384', x: expected.x, y: expected.y, alg: 'ES384' });
      expect(jwk.kid).toBe(await thumbprint({ kty: 'EC', crv: 'P-384', x: expected.x, y: expected.y }));
    });
  });

  describe('when the key does not suit the algorithm', () => {
    it.each([
      [
        'an RSA 1024 key for RS384',
        () => generateKeyPairSync('rsa', { modulusLength: 1024 }),
        'RS384',
        /at least 2048 bits, got 1024/,
      ],
      [
        'a P-256 key for ES384',
        () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
        'ES384',
        /P-384, got curve P-256/,
      ],
      [
        'an RSA key for ES384',
        () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
        'ES384',
        /P-384, got rsa/,
      ],
      [
        'a P-384 key for RS384',
        () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
        'RS384',
        /needs an RSA key, got ec/,
      ],
    ] as const)('rejects %s with a ConfigError naming the key', async (_name, make, alg, message) => {
      // Arrange
      const der = spki(make().publicKey);

      // Act
      const result = spkiDerToPublicJwk(der, alg, 'alias/epic-signing');

      // Assert
      await expect(result).rejects.toBeInstanceOf(ConfigError);
      await expect(result).rejects.toThrow(/alias\/epic-signing/);
      await expect(result).rejects.toThrow(message);
    });

    it('rejects bytes that are not a DER SubjectPublicKeyInfo', async () => {
      await expect(spkiDerToPublicJwk(Uint8Array.from([1, 2, 3]), 'RS384', 'k1')).rejects.toThrow(
        /"k1".*not a readable DER SubjectPublicKeyInfo/s,
      );
    });
  });
});
