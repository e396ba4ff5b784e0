import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEpicSimulator,
  type EpicSimulator,
  type Fault,
  type FhirBackend,
} from '../../../local/epic-simulator/index.js';
import {
  CLIENT_ID,
  FrozenClock,
  generateTestKey,
  type JwksServer,
  obtainToken,
  requestToken,
  signAssertion,
  startJwksServer,
  type TestKey,
  validClaims,
} from './support.js';

const practitionerBackend: FhirBackend = {
  practitionerRead: (id) => ({ status: 200, body: { resourceType: 'Practitioner', id } }),
  practitionerSearch: () => ({ status: 200, body: { resourceType: 'Bundle', type: 'searchset' } }),
  appointmentFind: () => ({ status: 200, body: { resourceType: 'Bundle', type: 'searchset' } }),
};

describe('fault injection', () => {
  const clock = new FrozenClock();
  let key: TestKey;
  let jwks: JwksServer;
  let sim: EpicSimulator;
  let tokenUrl: string;
  let practitionerUrl: string;
  let token: string;

  beforeAll(async () => {
    key = await generateTestKey();
    jwks = await startJwksServer([key.publicJwk]);
    sim = await createEpicSimulator({
      clock,
      organizations: [
        { id: 'org', clients: [{ clientId: CLIENT_ID, jwksUrl: jwks.url }], fhir: practitionerBackend },
        { id: 'calm', clients: [{ clientId: CLIENT_ID, jwksUrl: jwks.url }] },
      ],
    });
    tokenUrl = sim.endpoints('org').tokenUrl;
    practitionerUrl = `${sim.endpoints('org').r4Base}/Practitioner/p1`;
    token = await obtainToken(tokenUrl, key);
  });

  afterAll(async () => {
    await sim.close();
    await jwks.close();
  });

  beforeEach(() => {
    sim.setFault('org', 'token', undefined);
    sim.setFault('org', 'fhir', undefined);
    sim.resetStats();
  });

  const mint = async () => requestToken(tokenUrl, await signAssertion(key, validClaims(tokenUrl)));
  const mintRaw = async () =>
    fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await signAssertion(key, validClaims(tokenUrl)),
      }),
    });
  const readPractitioner = (init: RequestInit = {}) =>
    fetch(practitionerUrl, {
      headers: { authorization: `Bearer ${token}`, 'epic-client-id': CLIENT_ID },
      ...init,
    });

  describe('on the token endpoint', () => {
    it('answers an injected status with Retry-After, for `times` requests only', async () => {
      // Arrange
      sim.setFault('org', 'token', { kind: 'status', status: 503, retryAfterSeconds: 7, times: 1 });

      // Act
      const faulted = await mintRaw();
      const next = await mint();

      // Assert
      expect(faulted.status).toBe(503);
      expect(faulted.headers.get('retry-after')).toBe('7');
      expect(next.status).toBe(200);
      expect(sim.stats('org')).toMatchObject({ tokenRequests: 2, tokensIssued: 1 });
    });

    it('sends an injected body verbatim', async () => {
      sim.setFault('org', 'token', { kind: 'status', status: 429, body: '<html>Too many</html>' });

      const response = await mintRaw();

      expect(response.status).toBe(429);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toBe('<html>Too many</html>');
    });

    it('answers an injected OAuth error to a valid assertion and issues nothing', async () => {
      sim.setFault('org', 'token', { kind: 'oauth-error', error: 'unauthorized_client' });

      const response = await mint();

      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: 'unauthorized_client' });
      expect(sim.stats('org').tokensIssued).toBe(0);
    });

    it('answers 200 with a body that is not valid JSON when malformed', async () => {
      sim.setFault('org', 'token', { kind: 'malformed' });

      const response = await mintRaw();

      expect(response.status).toBe(200);
      await expect(response.json()).rejects.toThrow(SyntaxError);
    });

    it('drops the connection without an answer', async () => {
      sim.setFault('org', 'token', { kind: 'drop', times: 1 });

      await expect(mintRaw()).rejects.toThrow(TypeError);
      expect((await mint()).status).toBe(200);
    });

    it('answers normally after a slow delay', async () => {
      sim.setFault('org', 'token', { kind: 'slow', delayMs: 20 });

      const response = await mint();

      expect(response.status).toBe(200);
    });

    it('is slow enough to trip a client timeout', async () => {
      sim.setFault('org', 'token', { kind: 'slow', delayMs: 60_000, times: 1 });

      await expect(
        fetch(tokenUrl, { method: 'POST', signal: AbortSignal.timeout(100), body: '' }),
      ).rejects.toMatchObject({ name: 'TimeoutError' });
    });

    it('affects only the organization it was set for', async () => {
      sim.setFault('org', 'token', { kind: 'oauth-error', error: 'invalid_client' });
      const calmUrl = sim.endpoints('calm').tokenUrl;

      const response = await requestToken(calmUrl, await signAssertion(key, validClaims(calmUrl)));

      expect(response.status).toBe(200);
    });
  });

  describe('on the FHIR routes', () => {
    it('answers an injected 429 with an OperationOutcome, before checking auth', async () => {
      sim.setFault('org', 'fhir', { kind: 'status', status: 429, retryAfterSeconds: 2 });

      const response = await fetch(practitionerUrl);

      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('2');
      expect(await response.json()).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [{ code: 'throttled' }],
      });
    });

    it('answers a 200 HTML page when non-fhir', async () => {
      sim.setFault('org', 'fhir', { kind: 'non-fhir' });

      const response = await readPractitioner();

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    });

    it('answers 200 with a body that is not valid JSON when malformed', async () => {
      sim.setFault('org', 'fhir', { kind: 'malformed' });

      const response = await readPractitioner();

      expect(response.status).toBe(200);
      await expect(response.json()).rejects.toThrow(SyntaxError);
    });

    it('drops the connection for `times` requests, then answers normally', async () => {
      sim.setFault('org', 'fhir', { kind: 'drop', times: 2 });

      await expect(readPractitioner()).rejects.toThrow(TypeError);
      await expect(readPractitioner()).rejects.toThrow(TypeError);
      const third = await readPractitioner();

      expect(third.status).toBe(200);
      expect(sim.stats('org').fhirRequests).toBe(3);
    });

    it('answers normally after a slow delay', async () => {
      sim.setFault('org', 'fhir', { kind: 'slow', delayMs: 20 });

      const response = await readPractitioner();

      expect(await response.json()).toEqual({ resourceType: 'Practitioner', id: 'p1' });
    });

    it('leaves the token endpoint alone', async () => {
      sim.setFault('org', 'fhir', { kind: 'status', status: 500 });

      expect((await mint()).status).toBe(200);
    });

    it('stops when cleared', async () => {
      sim.setFault('org', 'fhir', { kind: 'status', status: 500 });
      sim.setFault('org', 'fhir', undefined);

      expect((await readPractitioner()).status).toBe(200);
    });
  });

  describe('when a fault does not fit its target', () => {
    it.each<[target: 'token' | 'fhir', Fault]>([
      ['fhir', { kind: 'oauth-error', error: 'invalid_client' }],
      ['token', { kind: 'non-fhir' }],
      ['token', { kind: 'status', status: 42 }],
      ['fhir', { kind: 'drop', times: 0 }],
    ])('refuses to arm it on %s: %j', (target, fault) => {
      expect(() => sim.setFault('org', target, fault)).toThrow(RangeError);
    });
  });
});
