import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createKmsClient,
  createLambdaClient,
  createSecretsManagerClient,
} from '../../../functions/core/aws/clients.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve).closeAllConnections())),
  );
});

/** A loopback AWS endpoint that records requests and answers with `respond` (or never). */
async function fakeEndpoint(respond?: (req: IncomingMessage) => { status: number; body: string }) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.headers['x-amz-target'] ?? req.url}`);
    req.resume();
    if (!respond) return; // hang: the client's request timeout must fire
    const { status, body } = respond(req);
    res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' }).end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, requests };
}

const local = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

describe('AWS client factories', () => {
  it('build one shared client per container', () => {
    expect(createKmsClient()).toBe(createKmsClient());
    expect(createSecretsManagerClient()).toBe(createSecretsManagerClient());
    expect(createLambdaClient()).toBe(createLambdaClient());
  });

  it('build a separate client when given overrides', () => {
    expect(createKmsClient({ region: 'us-east-1' })).not.toBe(createKmsClient());
  });

  it('retry a failing KMS call three times in all, then surface the error', async () => {
    // Arrange
    const { endpoint, requests } = await fakeEndpoint(() => ({
      status: 500,
      body: JSON.stringify({ __type: 'KMSInternalException', message: 'boom' }),
    }));
    const kms = createKmsClient(local(endpoint));

    // Act
    const error = await kms.send(new GetPublicKeyCommand({ KeyId: 'alias/x' })).catch((e: Error) => e);

    // Assert
    expect(error).toMatchObject({ name: 'KMSInternalException' });
    expect(requests).toEqual(Array(3).fill('POST TrentService.GetPublicKey'));
  });

  it('give up on a Secrets Manager endpoint that never answers instead of waiting forever', async () => {
    // Arrange
    const { endpoint, requests } = await fakeEndpoint();
    const sm = createSecretsManagerClient({
      ...local(endpoint),
      maxAttempts: 1,
      requestHandler: { requestTimeout: 100 },
    });

    // Act
    const error = await sm.send(new GetSecretValueCommand({ SecretId: 'x' })).catch((e: Error) => e);

    // Assert
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(requests).toHaveLength(1);
  });

  it('make a single attempt per Lambda invoke (not idempotent; throttling is handled by the caller), also with overrides', async () => {
    // Arrange
    const lambda = createLambdaClient(local('http://127.0.0.1:1'));

    // Act
    const maxAttempts = await lambda.config.maxAttempts();

    // Assert
    expect(maxAttempts).toBe(1);
  });
});
