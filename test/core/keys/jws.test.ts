import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildJwks } from '../../../functions/core/keys/jwks.js';
import { signCompactJws } from '../../../functions/core/keys/jws.js';
import { FakeSigningKeys } from './fake-signing-keys.js';

describe('signCompactJws', () => {
  it('signs base64url(header).base64url(payload) with the active key, never the next one', async () => {
    // Arrange
    const keys = await FakeSigningKeys.generate([
      { keyId: 'n', alg: 'ES384', state: 'next' },
      { keyId: 'a', alg: 'RS384', state: 'active' },
    ]);
    const active = await keys.activeKey();
    const payload = { iss: 'client', sub: 'client', aud: 'https://epic.example/token', jti: 'j-1', exp: 1 };

    // Act
    const result = await signCompactJws(keys, payload);

    // Assert
    const [h, p] = result.jws.split('.');
    expect(result).toMatchObject({ kid: active.kid, alg: 'RS384' });
    expect(keys.signCalls).toEqual([{ kid: active.kid, input: `${h}.${p}` }]);
    expect(decodeProtectedHeader(result.jws)).toEqual({ alg: 'RS384', typ: 'JWT', kid: active.kid });
    expect(decodeJwt(result.jws)).toEqual(payload);
    await expect(compactVerify(result.jws, createLocalJWKSet(await buildJwks(keys)))).resolves.toBeDefined();
  });

  it('adds extra header members but never lets them replace alg, typ or kid', async () => {
    // Arrange
    const keys = await FakeSigningKeys.generate([{ keyId: 'a', alg: 'ES384', state: 'active' }]);
    const active = await keys.activeKey();

    // Act
    const { jws } = await signCompactJws(
      keys,
      { a: 1 },
      { jku: 'https://api.example/epic/oauth', alg: 'none', kid: 'evil', typ: 'x' },
    );

    // Assert
    expect(decodeProtectedHeader(jws)).toEqual({
      jku: 'https://api.example/epic/oauth',
      alg: 'ES384',
      typ: 'JWT',
      kid: active.kid,
    });
  });
});
