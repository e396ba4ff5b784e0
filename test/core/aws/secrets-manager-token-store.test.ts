import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerTokenStore } from '../../../functions/core/aws/secrets-manager-token-store.js';
import { DependencyError } from '../../../functions/core/errors/app-error.js';
import { captureLogs, expectNoSecrets, type LogCapture } from '../../helpers/log-capture.js';
import { storedToken } from '../tokens/token-fixtures.js';

const PREFIX = 'epic/nonprod/token/';
const notFound = () =>
  new ResourceNotFoundException({
    $metadata: {},
    message: "Secrets Manager can't find the specified secret.",
  });
const throttled = () =>
  new SecretsManagerServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: {},
    message: 'Rate exceeded',
  });

let logs: LogCapture;
let client: SecretsManagerClient;
let mock: AwsClientStub<SecretsManagerClient>;
let store: SecretsManagerTokenStore;

beforeEach(() => {
  logs = captureLogs();
  client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  mock = mockClient(client);
  store = new SecretsManagerTokenStore({
    client,
    secretPrefix: PREFIX,
    logger: new Logger({ serviceName: 'test' }),
  });
});
afterEach(() => {
  logs.restore();
});

/** Everything a leak could hide in: log lines, error message, details and cause. */
const errorText = (error: unknown) => {
  const e = error as Error & { details?: unknown; cause?: unknown };
  return JSON.stringify({ message: e.message, details: e.details, cause: String(e.cause), json: e });
};

describe('SecretsManagerTokenStore', () => {
  describe('write then read', () => {
    it('puts the JSON in <prefix><tenant> and reads the same token back', async () => {
      // Arrange
      const token = storedToken();
      let stored: string | undefined;
      mock.on(PutSecretValueCommand).callsFake((input: PutSecretValueCommandInput) => {
        stored = input.SecretString;
        return { Name: input.SecretId };
      });
      mock.on(GetSecretValueCommand).callsFake(() => ({ SecretString: stored }));

      // Act
      await store.write(token);
      const read = await store.read('mercy-health');

      // Assert
      expect(read).toEqual(token);
      expect(mock.commandCalls(PutSecretValueCommand)[0]!.args[0].input).toEqual({
        SecretId: `${PREFIX}mercy-health`,
        SecretString: JSON.stringify(token),
      });
      expect(mock.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({
        SecretId: `${PREFIX}mercy-health`,
      });
      expect(mock.commandCalls(CreateSecretCommand)).toHaveLength(0);
    });
  });

  describe('read', () => {
    it('reads a secret that does not exist as missing', async () => {
      mock.on(GetSecretValueCommand).rejects(notFound());
      expect(await store.read('mercy-health')).toBeUndefined();
      expect(logs.codes()).toEqual([]);
    });

    it.each(['{}', '', '  '])(
      'reads the placeholder value %j as missing without a warning',
      async (value) => {
        mock.on(GetSecretValueCommand).resolves({ SecretString: value });
        expect(await store.read('mercy-health')).toBeUndefined();
        expect(logs.codes()).toEqual([]);
      },
    );

    it.each([
      ['corrupt', (t: ReturnType<typeof storedToken>) => `${JSON.stringify(t)}}`, 'not valid JSON'],
      [
        'foreign',
        (t: ReturnType<typeof storedToken>) => JSON.stringify({ ...t, tenant: 'st-elsewhere' }),
        'foreign',
      ],
      [
        'badly typed',
        (t: ReturnType<typeof storedToken>) => JSON.stringify({ ...t, expires_in: '3600' }),
        'expires_in',
      ],
    ])(
      'treats a %s value as missing and warns TOKEN_CACHE_UNREADABLE without the token',
      async (_n, make, problem) => {
        // Arrange
        const token = storedToken();
        mock.on(GetSecretValueCommand).resolves({ SecretString: make(token) });

        // Act
        const read = await store.read('mercy-health');

        // Assert
        expect(read).toBeUndefined();
        const [entry, ...rest] = logs.entries();
        expect(rest).toEqual([]);
        expect(entry).toMatchObject({
          level: 'WARN',
          message: 'TOKEN_CACHE_UNREADABLE',
          tenant: 'mercy-health',
        });
        expect(String(entry!.problem)).toContain(problem);
        expect(expectNoSecrets(logs.text(), [token.access_token])).toEqual([]);
      },
    );

    it('turns a ThrottlingException into token_store_unavailable naming the error, not the value', async () => {
      // Arrange
      mock.on(GetSecretValueCommand).rejects(throttled());

      // Act
      const error = await store.read('mercy-health').catch((e: unknown) => e);

      // Assert
      expect(error).toBeInstanceOf(DependencyError);
      expect(error).toMatchObject({
        code: 'token_store_unavailable',
        details: {
          tenant: 'mercy-health',
          secretsManagerError: 'ThrottlingException',
          operation: 'GetSecretValue',
        },
      });
      expect((error as Error).message).toMatch(
        /GetSecretValue .*"epic\/nonprod\/token\/mercy-health".*ThrottlingException/,
      );
    });
  });

  describe('write', () => {
    it('turns a ThrottlingException into token_store_unavailable and never logs or reports the token', async () => {
      // Arrange
      const token = storedToken();
      mock.on(PutSecretValueCommand).rejects(throttled());

      // Act
      const error = await store.write(token).catch((e: unknown) => e);

      // Assert
      expect(error).toMatchObject({
        code: 'token_store_unavailable',
        details: { secretsManagerError: 'ThrottlingException', operation: 'PutSecretValue' },
      });
      expect(expectNoSecrets(`${logs.text()}${errorText(error)}`, [token.access_token])).toEqual([]);
    });

    it('reports a missing secret as token_store_unavailable when it may not create it', async () => {
      // Arrange
      mock.on(PutSecretValueCommand).rejects(notFound());

      // Act
      const result = store.write(storedToken());

      // Assert
      await expect(result).rejects.toMatchObject({
        code: 'token_store_unavailable',
        details: { secretsManagerError: 'ResourceNotFoundException' },
      });
      expect(mock.commandCalls(CreateSecretCommand)).toHaveLength(0);
    });

    it('creates a missing secret when createMissing is set', async () => {
      // Arrange
      const creating = new SecretsManagerTokenStore({
        client,
        secretPrefix: PREFIX,
        logger: new Logger({ serviceName: 'test' }),
        createMissing: true,
      });
      const token = storedToken();
      mock.on(PutSecretValueCommand).rejects(notFound());
      mock.on(CreateSecretCommand).resolves({ Name: `${PREFIX}mercy-health` });

      // Act
      await creating.write(token);

      // Assert
      expect(mock.commandCalls(CreateSecretCommand)[0]!.args[0].input).toEqual({
        Name: `${PREFIX}mercy-health`,
        SecretString: JSON.stringify(token),
      });
    });

    it('puts the value when another writer created the secret first', async () => {
      // Arrange
      const creating = new SecretsManagerTokenStore({
        client,
        secretPrefix: PREFIX,
        logger: new Logger({ serviceName: 'test' }),
        createMissing: true,
      });
      mock.on(PutSecretValueCommand).rejectsOnce(notFound()).resolves({});
      mock.on(CreateSecretCommand).rejects(new ResourceExistsException({ $metadata: {}, message: 'exists' }));

      // Act
      await creating.write(storedToken());

      // Assert
      expect(mock.commandCalls(PutSecretValueCommand)).toHaveLength(2);
    });
  });

  it('keeps the access_token out of every log line and error across a failing session', async () => {
    // Arrange: a corrupt read, a foreign read, a failed read and a failed write
    const token = storedToken();
    mock
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: `${JSON.stringify(token)},` })
      .resolvesOnce({ SecretString: JSON.stringify({ ...token, tenant: 'other-org' }) })
      .rejects(throttled());
    mock.on(PutSecretValueCommand).rejects(throttled());

    // Act
    const outcomes = [
      await store.read('mercy-health'),
      await store.read('mercy-health'),
      await store.read('mercy-health').catch((e: unknown) => errorText(e)),
      await store.write(token).catch((e: unknown) => errorText(e)),
    ];

    // Assert
    expect(outcomes.slice(0, 2)).toEqual([undefined, undefined]);
    expect(logs.codes()).toEqual(['TOKEN_CACHE_UNREADABLE', 'TOKEN_CACHE_UNREADABLE']);
    expect(expectNoSecrets(`${logs.text()}${JSON.stringify(outcomes)}`, [token.access_token])).toEqual([]);
  });
});
