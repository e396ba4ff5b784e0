import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignCommand } from '@aws-sdk/client-kms';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEpicSimulator, type EpicSimulator } from '../../local/epic-simulator/index.js';
import { lambdaContext, toApiGatewayEvent } from '../../local/runtime/api-gateway-adapter.js';
import { fakeKmsForAllClients, fakeSecretsManagerForAllClients } from '../helpers/fake-aws.js';
import { captureLogs, expectNoSecrets, type LogCapture } from '../helpers/log-capture.js';

/**
 * The deployed composition: the exported Lambda `handler`s, built from the environment exactly as
 * infra/ configures them, with the real AWS SDK clients faked at the client boundary (KMS signs for
 * real), the minter reached through a Lambda Invoke, and Epic played by the simulator over HTTP.
 */
const KEY_ARN = 'arn:aws:kms:eu-west-2:111122223333:key/0f0e0d0c-1111-2222-3333-444455556666';
const CLIENT_ID = 'client-under-test';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

function apiEvent(method: string, path: string, body?: unknown): APIGatewayProxyEvent {
  const req = {
    url: path,
    method,
    headers: { 'content-type': 'application/json', host: 'abc.execute-api.eu-west-2.amazonaws.com' },
    socket: { remoteAddress: '10.0.0.1' },
  } as unknown as Parameters<typeof toApiGatewayEvent>[0];
  return toApiGatewayEvent(req, Buffer.from(body === undefined ? '' : JSON.stringify(body)), path, 'prod');
}

describe('the Lambda handlers as deployed', () => {
  let simulator: EpicSimulator;
  let jwksServer: Server;
  let logs: LogCapture;
  const kms = fakeKmsForAllClients({ [KEY_ARN]: { alg: 'RS384' } });
  const sm = fakeSecretsManagerForAllClients();
  const lambda = mockClient(LambdaClient);
  let throttleInvokes = 0;
  const secrets = new Set<string>();

  /** Fresh module instances = a fresh Lambda container (module-level singletons reset). */
  async function container() {
    vi.resetModules();
    return {
      refresh: (await import('../../functions/refresh/handler.js')).handler as Handler,
      jwks: (await import('../../functions/jwks/handler.js')).handler as Handler,
      minter: (await import('../../functions/token-minter/handler.js')).handler,
    };
  }

  beforeAll(async () => {
    logs = captureLogs();
    const jwksContainer = await container();
    jwksServer = createServer(async (_req, res) => {
      const result = await jwksContainer.jwks(apiEvent('GET', '/epic/oauth'), lambdaContext('jwks'));
      res.writeHead(result.statusCode, result.headers as Record<string, string>);
      res.end(result.body);
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/epic/oauth`;
    simulator = await createEpicSimulator({
      organizations: [{ id: 'acme', clients: [{ clientId: CLIENT_ID, jwksUrl }] }],
    });
    const ep = simulator.endpoints('acme');

    // The tenants come from TENANTS_JSON; a TENANTS_FILE left in the shell (the local runtime's
    // setting) would make the readers refuse both.
    delete process.env.TENANTS_FILE;
    Object.assign(process.env, {
      EPIC_CLIENT_ID: CLIENT_ID,
      EPIC_ENVIRONMENT: 'nonprod',
      TENANTS_JSON: JSON.stringify({
        tenants: [
          {
            id: 'acme',
            name: 'Acme Health',
            fhirBaseUrl: ep.r4Base,
            scheduling: {
              serviceTypeSystem: 'urn:oid:1.2.3',
              serviceTypes: [{ code: '1' }],
              providerBasedScheduling: false,
            },
          },
        ],
      }),
      SIGNING_KEYS_JSON: JSON.stringify([{ keyId: KEY_ARN, alg: 'RS384', state: 'active' }]),
      JWKS_MAX_AGE_SECONDS: '600',
      TOKEN_SECRET_PREFIX: 'epic/test/token/',
      MINTER_FUNCTION_NAME: 'epic-token-minter',
      AWS_REGION: 'eu-west-2',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });

    // The minter Lambda: a synchronous invoke runs the real minter handler in its own container.
    const minterContainer = await container();
    lambda.on(InvokeCommand).callsFake(async (input) => {
      if (throttleInvokes > 0) {
        throttleInvokes--;
        throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
      }
      expect(input.FunctionName).toBe('epic-token-minter');
      const result = await minterContainer.minter(
        JSON.parse(Buffer.from(input.Payload).toString()),
        lambdaContext('minter'),
      );
      return { StatusCode: 200, Payload: Buffer.from(JSON.stringify(result)) };
    });
  });

  afterAll(async () => {
    await simulator.close();
    await new Promise((r) => jwksServer.close(r));
    logs.restore();
    expect(expectNoSecrets(logs.text(), secrets)).toEqual([]);
  });

  beforeEach(() => {
    simulator.resetStats();
    kms.resetHistory();
    sm.mock.resetHistory();
    lambda.resetHistory();
  });

  it('GET /epic/oauth serves the KMS public key as a JWK Set with the configured max-age', async () => {
    const { jwks } = await container();
    const res = await jwks(apiEvent('GET', '/epic/oauth'), lambdaContext('jwks'));
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['Cache-Control']).toBe('public, max-age=600');
    expect(JSON.parse(res.body).keys).toEqual([
      expect.objectContaining({ kty: 'RSA', alg: 'RS384', use: 'sig' }),
    ]);
    expect(kms.commandCalls(SignCommand)).toHaveLength(0);
  });

  it('a refresh on an empty cache invokes the minter, which signs in KMS, mints once and writes the secret once', async () => {
    const { refresh } = await container();

    const res = await refresh(
      apiEvent('POST', '/epic/oauth/refresh', { tenant: 'acme' }),
      lambdaContext('refresh'),
    );
    const body = JSON.parse(res.body);
    secrets.add(body.access_token);

    expect(res.statusCode).toBe(200);
    expect(body).toMatchObject({ tenant: 'acme', token_type: 'Bearer', refreshed: true });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    const signs = kms.commandCalls(SignCommand);
    expect(signs).toHaveLength(1);
    expect(signs[0]!.args[0].input).toMatchObject({
      KeyId: KEY_ARN,
      MessageType: 'RAW',
      SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_384',
    });
    expect(simulator.stats('acme')).toMatchObject({
      tokenRequests: 1,
      tokensIssued: 1,
      discoveryRequests: 1,
    });
    const puts = sm.mock.commandCalls(PutSecretValueCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.args[0].input.SecretId).toBe('epic/test/token/acme');
    expect(JSON.parse(sm.secrets.get('epic/test/token/acme')!).access_token).toBe(body.access_token);

    const again = await refresh(
      apiEvent('POST', '/epic/oauth/refresh', { tenant: 'acme' }),
      lambdaContext('refresh'),
    );
    expect(JSON.parse(again.body)).toMatchObject({ access_token: body.access_token, refreshed: false });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  it('another container reads the secret and neither invokes the minter nor signs', async () => {
    const { refresh } = await container();
    const res = await refresh(
      apiEvent('POST', '/epic/oauth/refresh', { tenant: 'acme' }),
      lambdaContext('refresh'),
    );
    expect(JSON.parse(res.body).refreshed).toBe(false);
    expect(sm.mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(kms.commandCalls(SignCommand)).toHaveLength(0);
  });

  it('when the minter invoke is throttled, the reader retries briefly and then gets the token', async () => {
    sm.secrets.clear();
    throttleInvokes = 2;
    const { refresh } = await container();
    const res = await refresh(
      apiEvent('POST', '/epic/oauth/refresh', { tenant: 'acme' }),
      lambdaContext('refresh'),
    );
    secrets.add(JSON.parse(res.body).access_token);
    expect(res.statusCode).toBe(200);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(3);
  });

  it('the scheduled warmer leaves a fresh token alone and reports a summary', async () => {
    const { minter } = await container();
    const summary = await minter({ 'detail-type': 'Scheduled Event', source: 'aws.events' });
    expect(summary).toMatchObject({ fresh: 1, refreshed: 0, failed: 0 });
    expect(kms.commandCalls(SignCommand)).toHaveLength(0);
  });

  it('errors from the minter reach the caller with their code: unknown tenant is 404', async () => {
    const { refresh } = await container();
    const res = await refresh(
      apiEvent('POST', '/epic/oauth/refresh', { tenant: 'globex' }),
      lambdaContext('refresh'),
    );
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'unknown_tenant', details: { field: 'tenant' } });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('a forced refresh too soon after a mint is 429 with Retry-After, decided by the minter', async () => {
    const { refresh } = await container();
    const res = await refresh(
      apiEvent('POST', '/epic/oauth/refresh', { tenant: 'acme', force: true }),
      lambdaContext('refresh'),
    );
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers?.['Retry-After'])).toBeGreaterThan(0);
    expect(JSON.parse(res.body).error).toBe('refresh_rate_limited');
  });
});
