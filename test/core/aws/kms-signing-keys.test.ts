import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  DisabledException,
  GetPublicKeyCommand,
  type GetPublicKeyCommandInput,
  KMSClient,
  KMSServiceException,
  SignCommand,
  type SignCommandInput,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { KmsSigningKeys } from '../../../functions/core/aws/kms-signing-keys.js';
import { ConfigError, DependencyError } from '../../../functions/core/errors/app-error.js';
import { thumbprint } from '../../../functions/core/keys/jwk.js';
import { buildJwks } from '../../../functions/core/keys/jwks.js';
import { signCompactJws } from '../../../functions/core/keys/jws.js';
import type { KeyConfig, SigningAlg } from '../../../functions/core/keys/types.js';
import { MemoryLogger } from '../../helpers/fakes.js';

const REGION = 'us-east-1';
const arnOf = (keyId: string) => `arn:aws:kms:${REGION}:111122223333:key/${keyId.replace(/\W/g, '')}`;

/** A key as KMS holds it: the real private key (test only) and what GetPublicKey reports. */
interface FakeKmsKey {
  privateKey: KeyObject;
  keySpec: string;
  keyUsage: string;
}

const RSA_2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const RSA_2048_B = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const P384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;

function kmsKey(alg: SigningAlg, privateKey = alg === 'RS384' ? RSA_2048 : P384): FakeKmsKey {
  return { privateKey, keySpec: alg === 'RS384' ? 'RSA_2048' : 'ECC_NIST_P384', keyUsage: 'SIGN_VERIFY' };
}

const kmsError = (name: string) =>
  new KMSServiceException({ name, $fault: 'client', $metadata: {}, message: `${name} from fake KMS` });

/** A fake KMS behind the real KMSClient: GetPublicKey returns real SPKI DER, Sign signs for real. */
function fakeKms(keys: Record<string, FakeKmsKey>) {
  const kms = new KMSClient({
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const mock = mockClient(kms);
  const byArn = new Map(Object.entries(keys).map(([id, k]) => [arnOf(id), k]));
  const getPublicKey = (input: GetPublicKeyCommandInput) => {
    const key = keys[input.KeyId!];
    if (key === undefined) throw kmsError('NotFoundException');
    return {
      KeyId: arnOf(input.KeyId!),
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      PublicKey: new Uint8Array(createPublicKey(key.privateKey).export({ format: 'der', type: 'spki' })),
    };
  };
  mock.on(GetPublicKeyCommand).callsFake(getPublicKey);
  mock.on(SignCommand).callsFake((input: SignCommandInput) => {
    const key = byArn.get(input.KeyId!);
    if (key === undefined) throw kmsError('NotFoundException');
    const signature =
      input.SigningAlgorithm === 'ECDSA_SHA_384'
        ? sign('sha384', input.Message!, { key: key.privateKey, dsaEncoding: 'der' }) // KMS answers DER
        : sign('sha384', input.Message!, key.privateKey); // RSASSA-PKCS1-v1_5
    return {
      KeyId: input.KeyId,
      Signature: new Uint8Array(signature),
      SigningAlgorithm: input.SigningAlgorithm,
    };
  });
  return { kms, mock, getPublicKey };
}

describe('KmsSigningKeys', () => {
  describe.each([
    ['RS384', 'RSASSA_PKCS1_V1_5_SHA_384'],
    ['ES384', 'ECDSA_SHA_384'],
  ] as const)('with an %s key', (alg, signingAlgorithm) => {
    it('signs a JWS that jose verifies against the JWK Set built from GetPublicKey', async () => {
      // Arrange
      const { kms } = fakeKms({ 'alias/epic-signing': kmsKey(alg) });
      const keys = new KmsSigningKeys(kms, [{ keyId: 'alias/epic-signing', alg, state: 'active' }]);
      const jwks = createLocalJWKSet(await buildJwks(keys));

      // Act
      const { jws, kid } = await signCompactJws(keys, { iss: 'client-id', jti: 'one' });

      // Assert
      const { payload, protectedHeader } = await compactVerify(jws, jwks, { algorithms: [alg] });
      expect(protectedHeader).toEqual({ alg, typ: 'JWT', kid });
      expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ iss: 'client-id', jti: 'one' });
    });

    it(`calls Sign with MessageType RAW, ${signingAlgorithm} and the key ARN`, async () => {
      // Arrange
      const { kms, mock } = fakeKms({ 'alias/epic-signing': kmsKey(alg) });
      const keys = new KmsSigningKeys(kms, [{ keyId: 'alias/epic-signing', alg, state: 'active' }]);

      // Act
      const { jws } = await signCompactJws(keys, { a: 1 });

      // Assert
      const calls = mock.commandCalls(SignCommand);
      expect(calls).toHaveLength(1);
      const input = calls[0]!.args[0].input;
      expect(input).toMatchObject({
        KeyId: arnOf('alias/epic-signing'),
        MessageType: 'RAW',
        SigningAlgorithm: signingAlgorithm,
      });
      const [h, p] = jws.split('.');
      expect(new TextDecoder().decode(input.Message)).toBe(`${h}.${p}`);
    });
  });

  it('returns ES384 signatures in the 96-byte r||s form', async () => {
    // Arrange
    const { kms } = fakeKms({ ec: kmsKey('ES384') });
    const keys = new KmsSigningKeys(kms, [{ keyId: 'ec', alg: 'ES384', state: 'active' }]);
    const { kid } = await keys.activeKey();

    // Act
    const signature = await keys.sign(kid, new TextEncoder().encode('header.payload'));

    // Assert
    expect(signature).toHaveLength(96);
  });

  it('fetches each public key once across many publicKeys(), activeKey() and sign() calls', async () => {
    // Arrange
    const { kms, mock } = fakeKms({
      cur: kmsKey('RS384'),
      new: kmsKey('ES384'),
      old: kmsKey('RS384', RSA_2048_B),
    });
    const keys = new KmsSigningKeys(kms, [
      { keyId: 'old', alg: 'RS384', state: 'retired' },
      { keyId: 'cur', alg: 'RS384', state: 'active' },
      { keyId: 'new', alg: 'ES384', state: 'next' },
    ]);

    // Act
    await Promise.all([keys.publicKeys(), keys.publicKeys(), keys.activeKey()]);
    for (let i = 0; i < 5; i += 1) {
      await signCompactJws(keys, { i });
      await buildJwks(keys);
    }

    // Assert
    const fetched = mock.commandCalls(GetPublicKeyCommand).map((c) => c.args[0].input.KeyId);
    expect(fetched.sort()).toEqual(['cur', 'new']);
    expect(mock.commandCalls(SignCommand)).toHaveLength(5);
  });

  it('publishes the next key and signs with it only when asked for its kid', async () => {
    // Arrange
    const { kms, mock } = fakeKms({ cur: kmsKey('RS384'), new: kmsKey('ES384') });
    const keys = new KmsSigningKeys(kms, [
      { keyId: 'cur', alg: 'RS384', state: 'active' },
      { keyId: 'new', alg: 'ES384', state: 'next' },
    ]);
    const next = (await keys.publicKeys()).find((k) => k.state === 'next')!;

    // Act
    await keys.sign(next.kid, new TextEncoder().encode('x.y'));

    // Assert
    expect(next.kid).toBe(await thumbprint(next.jwk));
    expect(mock.commandCalls(SignCommand)[0]!.args[0].input).toMatchObject({
      KeyId: arnOf('new'),
      SigningAlgorithm: 'ECDSA_SHA_384',
    });
  });

  it('never fetches or signs with a retired key', async () => {
    // Arrange
    const { kms, mock } = fakeKms({ cur: kmsKey('ES384'), old: kmsKey('RS384') });
    const keys = new KmsSigningKeys(kms, [
      { keyId: 'cur', alg: 'ES384', state: 'active' },
      { keyId: 'old', alg: 'RS384', state: 'retired' },
    ]);
    const jwks = await buildJwks(keys);
    const oldKid = await thumbprint(createPublicKey(RSA_2048).export({ format: 'jwk' }) as never);

    // Act
    const result = keys.sign(oldKid, new Uint8Array([1]));

    // Assert
    await expect(result).rejects.toMatchObject({ code: 'signing_unavailable' });
    expect(jwks.keys.map((k) => k.kid)).not.toContain(oldKid);
    expect(mock.commandCalls(GetPublicKeyCommand).map((c) => c.args[0].input.KeyId)).toEqual(['cur']);
    expect(mock.commandCalls(SignCommand)).toHaveLength(0);
  });

  describe('when the KMS key does not match the configured algorithm', () => {
    it.each([
      [
        'an RSA key configured as ES384',
        'ES384',
        { ...kmsKey('RS384') },
        /KeySpec is RSA_2048 but alg ES384 needs ECC_NIST_P384/,
      ],
      [
        'a P-256 key configured as ES384',
        'ES384',
        { ...kmsKey('ES384'), keySpec: 'ECC_NIST_P256' },
        /KeySpec is ECC_NIST_P256 but alg ES384/,
      ],
      [
        'an EC key configured as RS384',
        'RS384',
        { ...kmsKey('ES384') },
        /KeySpec is ECC_NIST_P384 but alg RS384 needs RSA_2048 or RSA_3072 or RSA_4096/,
      ],
      [
        'an encryption key',
        'RS384',
        { ...kmsKey('RS384'), keyUsage: 'ENCRYPT_DECRYPT' },
        /KeyUsage is ENCRYPT_DECRYPT but signing needs SIGN_VERIFY/,
      ],
    ] as const)(
      'rejects %s with a ConfigError naming the key and both values',
      async (_n, alg, key, message) => {
        // Arrange
        const { kms } = fakeKms({ 'alias/wrong': key });
        const keys = new KmsSigningKeys(kms, [{ keyId: 'alias/wrong', alg, state: 'active' }]);

        // Act
        const result = keys.publicKeys();

        // Assert
        await expect(result).rejects.toBeInstanceOf(ConfigError);
        await expect(result).rejects.toThrow(/KMS signing key "alias\/wrong"/);
        await expect(result).rejects.toThrow(message);
      },
    );
  });

  describe('when KMS fails', () => {
    it.each([
      ['ThrottlingException', kmsError('ThrottlingException')],
      ['DisabledException', new DisabledException({ $metadata: {}, message: 'key is disabled' })],
      ['AccessDeniedException', kmsError('AccessDeniedException')],
      ['KMSInvalidStateException', kmsError('KMSInvalidStateException')],
    ])('turns a Sign %s into signing_unavailable naming the error and the key', async (name, error) => {
      // Arrange
      const { kms, mock } = fakeKms({ 'alias/epic': kmsKey('RS384') });
      mock.on(SignCommand).rejects(error);
      const keys = new KmsSigningKeys(kms, [{ keyId: 'alias/epic', alg: 'RS384', state: 'active' }]);

      // Act
      const result = signCompactJws(keys, { a: 1 });

      // Assert
      await expect(result).rejects.toBeInstanceOf(DependencyError);
      await expect(result).rejects.toMatchObject({
        code: 'signing_unavailable',
        details: { kmsError: name, keyId: 'alias/epic', operation: 'Sign' },
        cause: error,
      });
      await expect(result).rejects.toThrow(new RegExp(`KMS Sign with key "alias/epic" failed: ${name}`));
    });

    it('turns a GetPublicKey NotFoundException into signing_unavailable and asks again next time', async () => {
      // Arrange
      const { kms, mock, getPublicKey } = fakeKms({ 'alias/epic': kmsKey('ES384') });
      mock.on(GetPublicKeyCommand).rejectsOnce(kmsError('NotFoundException')).callsFake(getPublicKey);
      const keys = new KmsSigningKeys(kms, [{ keyId: 'alias/epic', alg: 'ES384', state: 'active' }]);

      // Act
      const first = keys.publicKeys();
      await expect(first).rejects.toMatchObject({
        code: 'signing_unavailable',
        details: { kmsError: 'NotFoundException' },
      });
      const second = await keys.publicKeys();

      // Assert
      expect(second).toHaveLength(1);
      expect(mock.commandCalls(GetPublicKeyCommand)).toHaveLength(2);
    });

    it('keeps publishing the active key when the next key cannot be loaded, and logs it', async () => {
      // Arrange: "new" is not in the fake KMS, so GetPublicKey answers NotFoundException
      const { kms } = fakeKms({ cur: kmsKey('RS384') });
      const logger = new MemoryLogger();
      const keys = new KmsSigningKeys(
        kms,
        [
          { keyId: 'cur', alg: 'RS384', state: 'active' },
          { keyId: 'new', alg: 'ES384', state: 'next' },
        ],
        logger,
      );

      // Act
      const jwks = await buildJwks(keys);

      // Assert
      expect(jwks.keys.map((k) => k.kid)).toEqual([(await keys.activeKey()).kid]);
      expect(logger.entries).toEqual([
        expect.objectContaining({ level: 'error', code: 'SIGNING_KEY_UNAVAILABLE' }),
      ]);
    });

    it('fails the JWK Set when the active key cannot be loaded', async () => {
      const { kms } = fakeKms({ new: kmsKey('ES384') });
      const keys = new KmsSigningKeys(kms, [
        { keyId: 'cur', alg: 'RS384', state: 'active' },
        { keyId: 'new', alg: 'ES384', state: 'next' },
      ]);
      await expect(buildJwks(keys)).rejects.toMatchObject({ code: 'signing_unavailable' });
    });

    it('rejects a Sign answer that is not a DER ECDSA signature', async () => {
      // Arrange
      const { kms, mock } = fakeKms({ ec: kmsKey('ES384') });
      mock.on(SignCommand).resolves({ Signature: new Uint8Array(96).fill(7) });
      const keys = new KmsSigningKeys(kms, [{ keyId: 'ec', alg: 'ES384', state: 'active' }]);

      // Act
      const result = signCompactJws(keys, {});

      // Assert
      await expect(result).rejects.toMatchObject({ code: 'signing_unavailable' });
      await expect(result).rejects.toThrow(/not a P-384 DER ECDSA-Sig-Value/);
    });
  });

  it('rejects an invalid key list at construction', () => {
    // Arrange
    const { kms } = fakeKms({});
    const list: KeyConfig[] = [
      { keyId: 'a', alg: 'RS384', state: 'active' },
      { keyId: 'b', alg: 'RS384', state: 'active' },
    ];

    // Act
    const act = () => new KmsSigningKeys(kms, list);

    // Assert
    expect(act).toThrow(ConfigError);
  });

  it('uses the kid in the JWS header that matches the published key', async () => {
    // Arrange
    const { kms } = fakeKms({ cur: kmsKey('RS384') });
    const keys = new KmsSigningKeys(kms, [{ keyId: 'cur', alg: 'RS384', state: 'active' }]);

    // Act
    const { jws } = await signCompactJws(keys, {});

    // Assert
    const [published] = (await buildJwks(keys)).keys;
    expect(decodeProtectedHeader(jws).kid).toBe(published!.kid);
  });
});
