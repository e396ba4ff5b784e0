import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../functions/core/clock.js';
import type { CachedToken } from '../../functions/core/tokens/types.js';
import { captureLogs, type LogCapture } from '../helpers/log-capture.js';
import {
  assertRow,
  expectLogsCapturedWithoutSecrets,
  expectRowsAsserted,
  expectUsableToken,
  type Harness,
  startHarness,
} from './support.js';

/** Log codes this file's rows produce: the positive control of the log check. */
const LOG_CODES = [
  'TOKEN_MINTED',
  'TOKEN_MINT_FAILED',
  'TOKEN_CACHE_READ_FAILED',
  'TOKEN_CACHE_WRITE_FAILED',
  'TOKEN_CACHE_REPAIRED',
];

/**
 * KMS and Secrets Manager fail while the local runtime signs with KMS and caches tokens in Secrets
 * Manager (the real adapters, faked at the SDK client boundary; KMS signs for real with a key made
 * here). Faults are switched per operation; calls are counted per operation.
 */
const KEY_ARN = 'arn:aws:kms:eu-west-2:111122223333:key/aaaaaaaa-1111-2222-3333-444455556666';
const PREFIX = 'epic/test/token/';
const TENANT = 'sandbox-pbs';
const SECRET_ID = `${PREFIX}${TENANT}`;

const awsError = (name: string) => Object.assign(new Error(`${name} (injected)`), { name, $metadata: {} });

const faults: { sign?: string; get?: string; put?: string } = {};
const secrets = new Map<string, string>();

function fakeAws() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kms = mockClient(KMSClient);
  kms.on(GetPublicKeyCommand).callsFake((input) => {
    if (input.KeyId !== KEY_ARN) throw awsError('NotFoundException');
    return {
      KeyId: KEY_ARN,
      KeySpec: 'RSA_2048',
      KeyUsage: 'SIGN_VERIFY',
      PublicKey: new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' })),
    };
  });
  kms.on(SignCommand).callsFake((input) => {
    if (faults.sign) throw awsError(faults.sign);
    return { KeyId: KEY_ARN, Signature: new Uint8Array(sign('sha384', input.Message, privateKey)) };
  });
  const sm = mockClient(SecretsManagerClient);
  sm.on(GetSecretValueCommand).callsFake((input) => {
    if (faults.get) throw awsError(faults.get);
    const value = secrets.get(input.SecretId);
    if (value === undefined) throw new ResourceNotFoundException({ $metadata: {}, message: 'not found' });
    return { Name: input.SecretId, SecretString: value };
  });
  sm.on(PutSecretValueCommand).callsFake((input) => {
    if (faults.put) throw awsError(faults.put);
    if (!secrets.has(input.SecretId))
      throw new ResourceNotFoundException({ $metadata: {}, message: 'not found' });
    secrets.set(input.SecretId, input.SecretString);
    return { Name: input.SecretId };
  });
  sm.on(CreateSecretCommand).callsFake((input) => {
    if (faults.put) throw awsError(faults.put);
    secrets.set(input.Name, input.SecretString);
    return { Name: input.Name };
  });
  return { kms, sm };
}

describe('resilience: KMS and Secrets Manager faults', () => {
  const aws = fakeAws();
  let h: Harness;
  let logs: LogCapture;
  let before: CachedToken;

  /** PutSecretValue calls for this test's tenant (a warmer run also writes the other tenant). */
  const writes = () =>
    aws.sm.commandCalls(PutSecretValueCommand).filter((c) => c.args[0].input.SecretId === SECRET_ID).length;
  const counts = () => ({
    kmsSign: aws.kms.commandCalls(SignCommand).length,
    secretWrites: writes(),
    epicTokenRequests: h.runtime.simulator!.stats(TENANT).tokenRequests,
  });

  beforeAll(async () => {
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-2',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    logs = captureLogs();
    h = await startHarness({
      keySource: 'kms',
      kmsKeyIds: [KEY_ARN],
      tokenStore: 'secretsmanager',
      tokenSecretPrefix: PREFIX,
    });
  });

  afterAll(async () => {
    await h.close();
    logs.restore();
    expectLogsCapturedWithoutSecrets(logs, h, LOG_CODES);
    expectRowsAsserted(['KMS', 'Secrets Manager', 'Secrets']);
  });

  beforeEach(async () => {
    faults.sign = undefined;
    faults.get = undefined;
    faults.put = undefined;
    const ok = await h.refresh({ tenant: TENANT, force: true });
    expect(ok.status).toBe(200);
    before = expectUsableToken(await h.stored(TENANT), TENANT, systemClock);
    aws.kms.resetHistory();
    aws.sm.resetHistory();
    h.runtime.simulator!.resetStats();
  });

  describe('KMS', () => {
    it.each([
      ['kms-throttling', 'ThrottlingException'],
      ['kms-access-denied', 'AccessDeniedException'],
      ['kms-disabled-key', 'DisabledException'],
    ])(
      '%s: 503 signing_unavailable naming the KMS error, nothing sent to Epic, cache kept',
      async (id, name) => {
        faults.sign = name;

        const res = await h.refresh({ tenant: TENANT, force: true });
        const during = counts();
        const warm = await h.runtime.minter.warm();

        assertRow(id, {
          status: res.status,
          code: res.body.error as string,
          counts: { kmsSign: during.kmsSign, epicTokenRequests: during.epicTokenRequests },
        });
        expect(res.body.details).toMatchObject({ kmsError: name, operation: 'Sign' });
        // The token is fresh, so the warmer does not need KMS and leaves it alone.
        expect(warm.tenants.find((t) => t.tenant === TENANT)?.outcome).toBe('fresh');
        expect(expectUsableToken(await h.stored(TENANT), TENANT, systemClock)).toEqual(before);
      },
    );
  });

  describe('Secrets Manager', () => {
    it('sm-read-throttling: a new container that cannot read the cache still gets a token, minted once', async () => {
      faults.get = 'ThrottlingException';

      const res = await h.refresh({ tenant: TENANT }, h.newContainer(h.newMinter()));
      faults.get = undefined;

      assertRow('sm-read-throttling', { status: res.status, code: null, counts: counts() });
      expect(res.body.refreshed).toBe(true);
      const after = expectUsableToken(await h.stored(TENANT), TENANT, systemClock);
      expect(after.access_token).toBe(res.body.access_token);
    });

    it('sm-unavailable: the minted token is served, the old one stays cached and is still served after', async () => {
      faults.get = 'InternalServiceError';
      faults.put = 'InternalServiceError';

      const res = await h.refresh({ tenant: TENANT }, h.newContainer(h.newMinter()));
      const failedWrites = writes();
      const epicTokenRequests = counts().epicTokenRequests;
      faults.get = undefined;
      faults.put = undefined;
      const storedDuringOutage = await h.stored(TENANT);
      const warm = await h.runtime.minter.warm();

      assertRow('sm-unavailable', {
        status: res.status,
        code: (res.body.error as string | undefined) ?? null,
        counts: {
          epicTokenRequests,
          secretWritesFailed: failedWrites,
          secretWritesByWarmer: writes() - failedWrites,
        },
      });
      expect(res.body.refreshed).toBe(true);
      expect(storedDuringOutage).toEqual(before);
      expect(warm.tenants.find((t) => t.tenant === TENANT)?.outcome).toBe('fresh');
      expect(counts().epicTokenRequests).toBe(epicTokenRequests);
      expect(expectUsableToken(await h.stored(TENANT), TENANT, systemClock)).toEqual(before);
    });

    it.each([
      ['sm-corrupted-value', () => '{"tenant": "sandbox-pbs", "access_token": '],
      [
        'sm-foreign-value',
        () =>
          JSON.stringify({ ...before, tenant: 'sandbox', access_token: 'foreign-token-never-served-1234' }),
      ],
    ])('%s: treated as no token; one mint replaces it with a valid record', async (id, value) => {
      secrets.set(SECRET_ID, value());

      const res = await h.refresh({ tenant: TENANT }, h.newContainer(h.newMinter()));

      const { epicTokenRequests, secretWrites } = counts();
      assertRow(id, {
        status: res.status,
        code: (res.body.error as string | undefined) ?? null,
        counts: { epicTokenRequests, secretWrites },
      });
      expect(res.body.refreshed).toBe(true);
      expect(res.body.access_token).not.toBe('foreign-token-never-served-1234');
      const after = expectUsableToken(await h.stored(TENANT), TENANT, systemClock);
      expect(after.access_token).toBe(res.body.access_token);
    });

    it('sm-write-fails-after-mint: the minted token is used, the warmer writes it, the next container reads it', async () => {
      secrets.set(SECRET_ID, '{}');
      faults.put = 'ThrottlingException';
      const minter = h.newMinter();

      const res = await h.refresh({ tenant: TENANT }, h.newContainer(minter));
      faults.put = undefined;
      const storedAfterFailedWrite = secrets.get(SECRET_ID);
      const warm = await minter.warm();
      const mintsBeforeNext = counts().epicTokenRequests;
      const next = await h.refresh({ tenant: TENANT }, h.newContainer());

      assertRow('sm-write-fails-after-mint', {
        status: res.status,
        code: (res.body.error as string | undefined) ?? null,
        counts: {
          epicTokenRequests: mintsBeforeNext,
          warmerRepairs: warm.tenants.filter((t) => t.outcome === 'repaired').length,
          mintsAfterRepair: counts().epicTokenRequests - mintsBeforeNext,
        },
      });
      expect(res.body.refreshed).toBe(true);
      expect(storedAfterFailedWrite).toBe('{}');
      expect(next.body).toMatchObject({ access_token: res.body.access_token, refreshed: false });
      expect(expectUsableToken(await h.stored(TENANT), TENANT, systemClock).access_token).toBe(
        res.body.access_token,
      );
    });
  });
});
