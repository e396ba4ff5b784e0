import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEpicSimulator,
  type EpicSimulator,
  type FhirBackend,
  type FhirRequestContext,
  type FhirResponse,
} from '../../../local/epic-simulator/index.js';
import {
  CLIENT_ID,
  FrozenClock,
  generateTestKey,
  type JwksServer,
  obtainToken,
  startJwksServer,
  T0_MS,
  type TestKey,
} from './support.js';

/** Records what the server delegated and answers fixed resources. */
class StubBackend implements FhirBackend {
  calls: Array<{ operation: string; input: unknown; ctx: FhirRequestContext }> = [];
  failWith: Error | undefined;

  practitionerRead(id: string, ctx: FhirRequestContext): FhirResponse {
    return this.record('read', id, ctx, { resourceType: 'Practitioner', id });
  }
  practitionerSearch(params: URLSearchParams, ctx: FhirRequestContext): FhirResponse {
    return this.record('search', Object.fromEntries(params), ctx, {
      resourceType: 'Bundle',
      type: 'searchset',
    });
  }
  appointmentFind(body: unknown, ctx: FhirRequestContext): FhirResponse {
    return this.record('find', body, ctx, { resourceType: 'Bundle', type: 'searchset', entry: [] });
  }
  private record(operation: string, input: unknown, ctx: FhirRequestContext, body: unknown): FhirResponse {
    if (this.failWith) throw this.failWith;
    this.calls.push({ operation, input, ctx });
    return { status: 200, body };
  }
}

const FIND_BODY = {
  resourceType: 'Parameters',
  parameter: [{ name: 'startTime', valueDateTime: '2026-12-07T08:00:00Z' }],
};

describe('the simulated Epic FHIR routes', () => {
  const clock = new FrozenClock();
  const backend = new StubBackend();
  let key: TestKey;
  let jwks: JwksServer;
  let sim: EpicSimulator;
  let token: string;

  beforeAll(async () => {
    key = await generateTestKey();
    jwks = await startJwksServer([key.publicJwk]);
    const clients = [{ clientId: CLIENT_ID, jwksUrl: jwks.url }];
    sim = await createEpicSimulator({
      clock,
      organizations: [
        { id: 'alpha', clients, fhir: backend },
        { id: 'beta', clients, fhir: backend },
        { id: 'bare', clients },
      ],
    });
  });

  afterAll(async () => {
    await sim.close();
    await jwks.close();
  });

  beforeEach(async () => {
    clock.reset();
    backend.calls = [];
    backend.failWith = undefined;
    token = await obtainToken(sim.endpoints('alpha').tokenUrl, key);
    sim.resetStats();
  });

  const r4 = (org = 'alpha') => sim.endpoints(org).r4Base;
  const stu3 = (org = 'alpha') => sim.endpoints(org).stu3Base;
  /** Bearer and Epic-Client-ID headers; `clientId: null` leaves Epic-Client-ID out. */
  const authHeaders = (accessToken = token, clientId: string | null = CLIENT_ID) => ({
    authorization: `Bearer ${accessToken}`,
    ...(clientId === null ? {} : { 'epic-client-id': clientId }),
  });
  const find = (headers: Record<string, string>, body = JSON.stringify(FIND_BODY), org = 'alpha') =>
    fetch(`${stu3(org)}/Appointment/$find`, { method: 'POST', headers, body });

  describe('discovery', () => {
    it('serves smart-configuration without a token, naming the token endpoint and private_key_jwt', async () => {
      const response = await fetch(sim.endpoints('alpha').smartConfigurationUrl);

      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        token_endpoint: sim.endpoints('alpha').tokenUrl,
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
        grant_types_supported: expect.arrayContaining(['client_credentials']),
      });
      expect(sim.stats('alpha').discoveryRequests).toBe(1);
    });
  });

  describe('when the token and Epic-Client-ID are right', () => {
    it('delegates a Practitioner read with the organization context', async () => {
      const response = await fetch(`${r4()}/Practitioner/eM5CWtq15N0WJeuCet5bJlQ3`, {
        headers: authHeaders(),
      });

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      expect(await response.json()).toEqual({ resourceType: 'Practitioner', id: 'eM5CWtq15N0WJeuCet5bJlQ3' });
      expect(backend.calls).toEqual([
        {
          operation: 'read',
          input: 'eM5CWtq15N0WJeuCet5bJlQ3',
          ctx: { orgId: 'alpha', r4Base: r4(), stu3Base: stu3(), now: T0_MS },
        },
      ]);
      expect(sim.stats('alpha')).toMatchObject({ fhirRequests: 1, unexpected: [] });
    });

    it('delegates a Practitioner search with its query parameters', async () => {
      const response = await fetch(`${r4()}/Practitioner?family=Smith&given=Jane`, {
        headers: authHeaders(),
      });

      expect(response.status).toBe(200);
      expect(backend.calls[0]).toMatchObject({
        operation: 'search',
        input: { family: 'Smith', given: 'Jane' },
      });
    });

    it.each(['application/fhir+json', 'application/fhir+json; charset=utf-8'])(
      'delegates Appointment.$find with the parsed body sent as %s',
      async (contentType) => {
        const response = await find({ ...authHeaders(), 'content-type': contentType });

        expect(response.status).toBe(200);
        expect(backend.calls).toEqual([{ operation: 'find', input: FIND_BODY, ctx: expect.anything() }]);
      },
    );
  });

  describe('when the bearer token is not valid', () => {
    async function expectInvalidToken(response: Response): Promise<void> {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(await response.json()).toMatchObject({ resourceType: 'OperationOutcome' });
      expect(backend.calls).toEqual([]);
    }

    it('answers 401 without an Authorization header', async () => {
      await expectInvalidToken(
        await fetch(`${r4()}/Practitioner/1`, { headers: { 'epic-client-id': CLIENT_ID } }),
      );
    });

    it('answers 401 for a token it never issued', async () => {
      await expectInvalidToken(
        await fetch(`${r4()}/Practitioner/1`, { headers: authHeaders('x'.repeat(43)) }),
      );
    });

    it('answers 401 for a token issued by another organization', async () => {
      const betaToken = await obtainToken(sim.endpoints('beta').tokenUrl, key);

      await expectInvalidToken(await fetch(`${r4()}/Practitioner/1`, { headers: authHeaders(betaToken) }));
    });

    it('answers 401 once the organization revoked its tokens', async () => {
      const before = await fetch(`${r4()}/Practitioner/1`, { headers: authHeaders() });
      sim.revokeTokens('alpha');
      backend.calls = [];

      expect(before.status).toBe(200);
      await expectInvalidToken(await fetch(`${r4()}/Practitioner/1`, { headers: authHeaders() }));
    });

    it('answers 401 once the token expired on the simulator clock', async () => {
      clock.advanceSeconds(3600);

      await expectInvalidToken(await find({ ...authHeaders(), 'content-type': 'application/fhir+json' }));
    });
  });

  describe('when Epic-Client-ID is missing or wrong', () => {
    it('answers 400 without the header', async () => {
      const response = await fetch(`${r4()}/Practitioner/1`, { headers: authHeaders(token, null) });

      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ issue: [{ code: 'required' }] });
      expect(backend.calls).toEqual([]);
    });

    it('answers 401 when it names another client than the token’s', async () => {
      const response = await fetch(`${r4()}/Practitioner/1`, {
        headers: authHeaders(token, 'another-client'),
      });

      expect(response.status).toBe(401);
      expect(backend.calls).toEqual([]);
    });
  });

  describe('when the $find request is not FHIR JSON', () => {
    it.each(['text/plain', 'application/json'])(
      'answers 415 for a $find body sent as %s',
      async (contentType) => {
        const response = await find({ ...authHeaders(), 'content-type': contentType });

        expect(response.status).toBe(415);
        expect(await response.json()).toMatchObject({ resourceType: 'OperationOutcome' });
        expect(backend.calls).toEqual([]);
      },
    );

    it.each(['text/html', 'application/xml, text/plain;q=0.5'])(
      'answers 406 when Accept is %s (no FHIR JSON)',
      async (accept) => {
        const response = await fetch(`${r4()}/Practitioner?family=Smith`, {
          headers: { ...authHeaders(), accept },
        });

        expect(response.status).toBe(406);
        expect(await response.json()).toMatchObject({ resourceType: 'OperationOutcome' });
        expect(backend.calls).toEqual([]);
      },
    );

    it.each(['application/fhir+json', 'application/json', '*/*', 'text/html, application/fhir+json;q=0.9'])(
      'answers when Accept is %s',
      async (accept) => {
        const response = await fetch(`${r4()}/Practitioner?family=Smith`, {
          headers: { ...authHeaders(), accept },
        });

        expect(response.status).toBe(200);
      },
    );

    it('answers 400 for a body that is not JSON', async () => {
      const response = await find(
        { ...authHeaders(), 'content-type': 'application/fhir+json' },
        '{"resourceType":',
      );

      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ issue: [{ code: 'structure' }] });
      expect(backend.calls).toEqual([]);
    });
  });

  describe('when no backend can answer', () => {
    it('answers 404 for an organization without FHIR resources', async () => {
      const bareToken = await obtainToken(sim.endpoints('bare').tokenUrl, key);

      const response = await fetch(`${r4('bare')}/Practitioner/1`, { headers: authHeaders(bareToken) });

      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ resourceType: 'OperationOutcome' });
    });

    it('answers 500 and records an unexpected request when the backend throws', async () => {
      backend.failWith = new TypeError('bug in a backend');

      const response = await fetch(`${r4()}/Practitioner/1`, { headers: authHeaders() });

      expect(response.status).toBe(500);
      expect(sim.stats('alpha').unexpected).toEqual([
        expect.stringMatching(/500: FhirBackend threw TypeError/),
      ]);
    });
  });

  describe('when a request matches no Epic route', () => {
    it.each([
      ['GET', '/alpha/api/FHIR/R4/Patient/123', 404],
      ['GET', '/alpha/api/FHIR/STU3/Practitioner/123', 404],
      ['GET', '/alpha/api/FHIR/R4/Practitioner/1/_history', 404],
      ['GET', '/alpha/oauth2/token/', 404],
      ['GET', '/alpha/api/FHIR/STU3/Appointment/$find', 405],
      ['POST', '/alpha/api/FHIR/R4/Practitioner', 405],
      ['GET', '/alpha/oauth2/token', 405],
    ])('answers %s %s with %i and records it as unexpected', async (method, path, status) => {
      const response = await fetch(`${sim.url}${path}`, { method, headers: authHeaders() });

      expect(response.status).toBe(status);
      expect(sim.stats('alpha').unexpected).toEqual([
        expect.stringMatching(new RegExp(`^${method} ${escapeRegExp(path)} -> ${status}: `)),
      ]);
      expect(backend.calls).toEqual([]);
    });

    it('records a request for an unknown organization in every organization', async () => {
      const response = await fetch(`${sim.url}/nowhere/oauth2/token`, { method: 'POST' });

      expect(response.status).toBe(404);
      expect(sim.stats('alpha').unexpected).toEqual([
        'POST /nowhere/oauth2/token -> 404: unknown organization',
      ]);
      expect(sim.stats('bare').unexpected).toHaveLength(1);
    });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
