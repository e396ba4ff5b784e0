import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * Fakes at the AWS SDK client boundary (every instance of the real client class), for tests that
 * run the Lambda handlers with their own clients. KMS signs for real with keys generated here.
 */
export function fakeKmsForAllClients(keys: Record<string, { alg: 'RS384' | 'ES384' }>) {
  const privateKeys = new Map<string, { key: KeyObject; alg: 'RS384' | 'ES384' }>();
  for (const [arn, { alg }] of Object.entries(keys)) {
    const { privateKey } =
      alg === 'RS384'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: 'P-384' });
    privateKeys.set(arn, { key: privateKey, alg });
  }
  const mock = mockClient(KMSClient);
  mock.on(GetPublicKeyCommand).callsFake((input) => {
    const k = privateKeys.get(input.KeyId);
    if (!k) throw Object.assign(new Error('not found'), { name: 'NotFoundException' });
    return {
      KeyId: input.KeyId,
      KeySpec: k.alg === 'RS384' ? 'RSA_2048' : 'ECC_NIST_P384',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: [k.alg === 'RS384' ? 'RSASSA_PKCS1_V1_5_SHA_384' : 'ECDSA_SHA_384'],
      PublicKey: new Uint8Array(createPublicKey(k.key).export({ format: 'der', type: 'spki' })),
    };
  });
  mock.on(SignCommand).callsFake((input) => {
    const k = privateKeys.get(input.KeyId);
    if (!k) throw Object.assign(new Error('not found'), { name: 'NotFoundException' });
    if (input.MessageType !== 'RAW') throw new Error('this fake expects MessageType RAW');
    const signature =
      k.alg === 'ES384'
        ? sign('sha384', input.Message, { key: k.key, dsaEncoding: 'der' })
        : sign('sha384', input.Message, k.key);
    return {
      KeyId: input.KeyId,
      Signature: new Uint8Array(signature),
      SigningAlgorithm: input.SigningAlgorithm,
    };
  });
  return mock;
}

/** An in-memory Secrets Manager behind every SecretsManagerClient. */
export function fakeSecretsManagerForAllClients() {
  const secrets = new Map<string, string>();
  const mock = mockClient(SecretsManagerClient);
  mock.on(GetSecretValueCommand).callsFake((input) => {
    const value = secrets.get(input.SecretId);
    if (value === undefined) {
      throw new ResourceNotFoundException({
        $metadata: {},
        message: "Secrets Manager can't find the specified secret.",
      });
    }
    return { Name: input.SecretId, SecretString: value };
  });
  mock.on(PutSecretValueCommand).callsFake((input) => {
    if (!secrets.has(input.SecretId) && !input.SecretId.startsWith('epic/')) {
      throw new ResourceNotFoundException({ $metadata: {}, message: 'not found' });
    }
    secrets.set(input.SecretId, input.SecretString);
    return { Name: input.SecretId };
  });
  return { mock, secrets };
}
