import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, DependencyError } from '../../../functions/core/errors/app-error.js';
import { buildJwks } from '../../../functions/core/keys/jwks.js';
import { signCompactJws } from '../../../functions/core/keys/jws.js';
import { LocalSigningKeys } from '../../../functions/core/keys/local-signing-keys.js';
import type { KeyConfig } from '../../../functions/core/keys/types.js';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'local-keys-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('LocalSigningKeys', () => {
  describe('on first start', () => {
    it('generates each published key as a PKCS#8 file with mode 0600 in a 0700 directory', async () => {
      // Arrange
      const keys: KeyConfig[] = [
        { keyId: 'rsa-1', alg: 'RS384', state: 'active' },
        { keyId: 'ec-1', alg: 'ES384', state: 'next' },
      ];

      // Act
      await LocalSigningKeys.open({ stateDir, keys });

      // Assert
      expect(await mode(join(stateDir, 'keys'))).toBe(0o700);
      for (const name of ['rsa-1', 'ec-1']) {
        const file = join(stateDir, 'keys', `${name}.pem`);
        expect(await mode(file)).toBe(0o600);
        expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      }
    });

    it('does not create a file for a retired key and leaves it out of publicKeys', async () => {
      // Arrange
      const keys: KeyConfig[] = [
        { keyId: 'old', alg: 'RS384', state: 'retired' },
        { keyId: 'cur', alg: 'ES384', state: 'active' },
      ];

      // Act
      const signing = await LocalSigningKeys.open({ stateDir, keys });

      // Assert
      await expect(stat(join(stateDir, 'keys', 'old.pem'))).rejects.toThrow(/ENOENT/);
      expect((await signing.publicKeys()).map((k) => k.keyId)).toEqual(['cur']);
    });
  });

  describe('on a later start', () => {
    it('reuses the stored key so the kid stays the same', async () => {
      // Arrange
      const keys: KeyConfig[] = [{ keyId: 'k', alg: 'ES384', state: 'active' }];
      const first = await (await LocalSigningKeys.open({ stateDir, keys })).activeKey();

      // Act
      const second = await (await LocalSigningKeys.open({ stateDir, keys })).activeKey();

      // Assert
      expect(second.kid).toBe(first.kid);
      expect(second.jwk).toEqual(first.jwk);
    });

    it('tightens a key file that was made world-readable back to 0600', async () => {
      // Arrange
      const keys: KeyConfig[] = [{ keyId: 'k', alg: 'ES384', state: 'active' }];
      await LocalSigningKeys.open({ stateDir, keys });
      const file = join(stateDir, 'keys', 'k.pem');
      await chmod(file, 0o644);

      // Act
      await LocalSigningKeys.open({ stateDir, keys });

      // Assert
      expect(await mode(file)).toBe(0o600);
    });

    it('refuses a stored key that does not match the configured algorithm', async () => {
      // Arrange
      await LocalSigningKeys.open({ stateDir, keys: [{ keyId: 'k', alg: 'ES384', state: 'active' }] });

      // Act
      const result = LocalSigningKeys.open({
        stateDir,
        keys: [{ keyId: 'k', alg: 'RS384', state: 'active' }],
      });

      // Assert
      await expect(result).rejects.toBeInstanceOf(ConfigError);
      await expect(result).rejects.toThrow(/"k".*needs an RSA key/s);
    });
  });

  describe.each(['RS384', 'ES384'] as const)('signing with %s', (alg) => {
    it('produces a JWS that jose verifies against the JWK Set', async () => {
      // Arrange
      const signing = await LocalSigningKeys.open({ stateDir, keys: [{ keyId: 'k', alg, state: 'active' }] });
      const jwks = createLocalJWKSet(await buildJwks(signing));

      // Act
      const { jws, kid } = await signCompactJws(signing, { iss: 'client-id', jti: 'abc' });

      // Assert
      const { payload, protectedHeader } = await compactVerify(jws, jwks, { algorithms: [alg] });
      expect(protectedHeader).toEqual({ alg, typ: 'JWT', kid });
      expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ iss: 'client-id', jti: 'abc' });
      expect(decodeProtectedHeader(jws).kid).toBe((await signing.activeKey()).kid);
    });
  });

  it('signs with the next key when asked for its kid', async () => {
    // Arrange
    const signing = await LocalSigningKeys.open({
      stateDir,
      keys: [
        { keyId: 'a', alg: 'RS384', state: 'active' },
        { keyId: 'n', alg: 'ES384', state: 'next' },
      ],
    });
    const next = (await signing.publicKeys()).find((k) => k.state === 'next')!;

    // Act
    const signature = await signing.sign(next.kid, new TextEncoder().encode('x.y'));

    // Assert
    expect(signature).toHaveLength(96);
  });

  it('refuses to sign with an unknown kid', async () => {
    // Arrange
    const signing = await LocalSigningKeys.open({
      stateDir,
      keys: [{ keyId: 'a', alg: 'ES384', state: 'active' }],
    });

    // Act
    const result = signing.sign('no-such-kid', new Uint8Array([1]));

    // Assert
    await expect(result).rejects.toBeInstanceOf(DependencyError);
    await expect(result).rejects.toMatchObject({ code: 'signing_unavailable' });
  });

  it.each(['../escape', 'a/b', '', 'x'.repeat(65), 'spa ce'])(
    'rejects the unsafe key id %j',
    async (keyId) => {
      // Act
      const result = LocalSigningKeys.open({ stateDir, keys: [{ keyId, alg: 'ES384', state: 'active' }] });

      // Assert
      await expect(result).rejects.toBeInstanceOf(ConfigError);
    },
  );
});
