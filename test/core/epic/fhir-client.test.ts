import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FhirClient, type FhirRequest } from '../../../functions/core/epic/fhir-client.js';
import { AppError } from '../../../functions/core/errors/app-error.js';
import { toHttpError } from '../../../functions/core/errors/http-status.js';
import { CLIENT_ID, type TestDeps, tenantConfig, testDeps } from '../scheduling/support/fakes.js';
import { type StrictRouter, startStrictRouter } from '../scheduling/support/strict-router.js';

const PRACTITIONER = { resourceType: 'Practitioner', id: 'abc' };

let router: StrictRouter;
let deps: TestDeps;

beforeEach(async () => {
  router = await startStrictRouter();
  deps = testDeps([tenantConfig(router.url)]);
});

afterEach(async () => {
  await router.close();
});

function read(overrides: Partial<FhirRequest> = {}): FhirRequest {
  return {
    tenant: 'sandbox',
    api: 'Practitioner.Read (R4)',
    method: 'GET',
    url: `${router.url}/sandbox/api/FHIR/R4/Practitioner/abc`,
    expect: ['Practitioner'],
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

function everythingLoggedOrThrown(error?: AppError): string {
  return JSON.stringify(deps.logLines) + (error ? JSON.stringify(error.toJSON()) + error.message : '');
}

describe('FhirClient', () => {
  describe('when Epic answers 200', () => {
    it('sends the bearer token, Epic-Client-ID and FHIR JSON headers, and returns the resource', async () => {
      router.on('POST', '/sandbox/api/FHIR/STU3/Appointment/$find', {
        status: 200,
        body: { resourceType: 'Bundle' },
      });
      const client = new FhirClient(deps);

      const res = await client.request({
        ...read(),
        api: 'Appointment.$find (STU3)',
        method: 'POST',
        url: `${router.url}/sandbox/api/FHIR/STU3/Appointment/$find`,
        body: { resourceType: 'Parameters', parameter: [] },
        expect: ['Bundle'],
      });

      expect(res.resource).toEqual({ resourceType: 'Bundle' });
      const sent = router.requests[0]!;
      expect(sent.headers.authorization).toBe('Bearer test-token-1-SECRETVALUE');
      expect(sent.headers['epic-client-id']).toBe(CLIENT_ID);
      expect(sent.headers.accept).toBe('application/fhir+json');
      expect(sent.headers['content-type']).toBe('application/fhir+json');
      expect(sent.json).toEqual({ resourceType: 'Parameters', parameter: [] });
      expect(router.unexpected).toEqual([]);
    });

    it('refuses a resource of a type the caller did not expect as epic_bad_response', async () => {
      router.on('GET', /Practitioner\/abc$/, { status: 200, body: { resourceType: 'Patient', id: 'x' } });

      const error = await failure(new FhirClient(deps).request(read()));

      expect(error.code).toBe('epic_bad_response');
      expect(error.message).toContain('a Patient where Practitioner was expected');
    });
  });

  describe('when Epic answers 401', () => {
    it('invalidates the rejected token, gets one fresh token and retries once', async () => {
      router.on('GET', /Practitioner\/abc$/, { status: 401, body: { resourceType: 'OperationOutcome' } }, 1);
      router.on('GET', /Practitioner\/abc$/, { status: 200, body: PRACTITIONER }, 1);

      const res = await new FhirClient(deps).request(read());

      expect(res.resource).toEqual(PRACTITIONER);
      expect(deps.tokens.invalidated).toEqual([{ tenant: 'sandbox', token: 'test-token-1-SECRETVALUE' }]);
      expect(router.requests.map((r) => r.headers.authorization)).toEqual([
        'Bearer test-token-1-SECRETVALUE',
        'Bearer test-token-2-SECRETVALUE',
      ]);
    });

    it('fails with epic_token_revoked (502) when the fresh token is rejected too', async () => {
      router.on('GET', /Practitioner\/abc$/, { status: 401 });

      const error = await failure(new FhirClient(deps).request(read()));

      expect(error.code).toBe('epic_token_revoked');
      expect(toHttpError(error).statusCode).toBe(502);
      expect(router.requests).toHaveLength(2);
      expect(everythingLoggedOrThrown(error)).not.toContain('SECRETVALUE');
    });
  });

  describe('when Epic answers 403', () => {
    it('fails with epic_api_not_enabled naming the API, without retrying', async () => {
      router.on('GET', /Practitioner$/, { status: 403, body: { resourceType: 'OperationOutcome' } });

      const error = await failure(
        new FhirClient(deps).request(
          read({
            api: 'Practitioner.Search (R4)',
            url: `${router.url}/sandbox/api/FHIR/R4/Practitioner?family=Smith`,
          }),
        ),
      );

      expect(error.code).toBe('epic_api_not_enabled');
      expect(error.message).toContain('Practitioner.Search (R4)');
      expect(error.details).toMatchObject({ api: 'Practitioner.Search (R4)', clientId: CLIENT_ID });
      expect(router.requests).toHaveLength(1);
    });
  });

  describe('when Epic answers 429 or 5xx', () => {
    it('retries with jitter and succeeds', async () => {
      router.on('GET', /Practitioner\/abc$/, { status: 503 }, 1);
      router.on('GET', /Practitioner\/abc$/, { status: 200, body: PRACTITIONER }, 1);

      const res = await new FhirClient(deps, { baseBackoffMs: 100, maxBackoffMs: 1000 }).request(read());

      expect(res.attempts).toBe(2);
      // random() = 0.5 of a ceiling of 100 ms for the first retry
      expect(deps.sleeps).toEqual([50]);
    });

    it('waits at least Retry-After before retrying', async () => {
      router.on('GET', /Practitioner\/abc$/, { status: 429, headers: { 'retry-after': '3' } }, 1);
      router.on('GET', /Practitioner\/abc$/, { status: 200, body: PRACTITIONER }, 1);

      await new FhirClient(deps).request(read());

      expect(deps.sleeps).toEqual([3000]);
    });

    it('gives up at once when Retry-After does not fit in the deadline', async () => {
      router.on('GET', /Practitioner\/abc$/, { status: 429, headers: { 'retry-after': '120' } });

      const error = await failure(new FhirClient(deps).request(read()));

      expect(error.code).toBe('epic_rate_limited');
      expect(deps.sleeps).toEqual([]);
      expect(router.requests).toHaveLength(1);
    });

    it('stops after the bounded number of attempts with epic_unavailable', async () => {
      router.on('GET', /Practitioner\/abc$/, { status: 500, body: 'oops' });

      const error = await failure(new FhirClient(deps, { maxAttempts: 3 }).request(read()));

      expect(error.code).toBe('epic_unavailable');
      expect(toHttpError(error).statusCode).toBe(502);
      expect(router.requests).toHaveLength(3);
      expect(deps.sleeps).toHaveLength(2);
    });
  });

  describe('when Epic does not answer in time', () => {
    it('times out each attempt and fails with epic_timeout (504)', async () => {
      router.on('GET', /Practitioner\/abc$/, 'hang');

      const error = await failure(
        new FhirClient(deps, { requestTimeoutMs: 50, maxAttempts: 2 }).request(read()),
      );

      expect(error.code).toBe('epic_timeout');
      expect(toHttpError(error).statusCode).toBe(504);
      expect(router.requests).toHaveLength(2);
    });

    it('does not start an attempt once the total deadline has passed', async () => {
      router.on('GET', /Practitioner\/abc$/, { status: 200, body: PRACTITIONER });

      const error = await failure(new FhirClient(deps).request(read({ deadline: Date.now() - 1 })));

      expect(error.code).toBe('epic_timeout');
      expect(router.requests).toHaveLength(0);
    });
  });

  describe('when Epic cannot be reached', () => {
    it('fails with epic_unavailable after retries', async () => {
      router.on('GET', /Practitioner\/abc$/, 'drop');

      const error = await failure(new FhirClient(deps, { maxAttempts: 2 }).request(read()));

      expect(error.code).toBe('epic_unavailable');
      expect(router.requests).toHaveLength(2);
    });
  });

  describe('when the answer is not FHIR JSON', () => {
    it.each([
      [
        'an HTML page',
        { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>BODY-MARKER</html>' },
        'text/html',
      ],
      [
        'truncated JSON',
        {
          status: 200,
          headers: { 'content-type': 'application/fhir+json' },
          body: '{"resourceType":"BODY-MARKER',
        },
        'not valid JSON',
      ],
      ['JSON without resourceType', { status: 200, body: { hello: 'BODY-MARKER' } }, 'no resourceType'],
    ])('refuses %s with epic_bad_response', async (_label, reply, says) => {
      router.on('GET', /Practitioner\/abc$/, reply);

      const error = await failure(new FhirClient(deps).request(read()));

      expect(error.code).toBe('epic_bad_response');
      expect(error.message).toContain(says);
      expect(JSON.stringify(error.toJSON())).not.toContain('BODY-MARKER');
    });
  });

  describe('when Epic answers another 4xx', () => {
    it('fails with epic_fhir_error summarizing the OperationOutcome', async () => {
      router.on('POST', /\$find$/, {
        status: 400,
        body: {
          resourceType: 'OperationOutcome',
          issue: [
            {
              severity: 'fatal',
              code: 'required',
              details: {
                coding: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.657369', code: '59108' }],
                text: 'Required startTime missing',
              },
            },
          ],
        },
      });

      const error = await failure(
        new FhirClient(deps).request(
          read({
            api: 'Appointment.$find (STU3)',
            method: 'POST',
            url: `${router.url}/x/STU3/Appointment/$find`,
            body: {},
            expect: ['Bundle'],
          }),
        ),
      );

      expect(error.code).toBe('epic_fhir_error');
      expect(error.message).toContain('HTTP 400: 59108.');
      expect(error.message).not.toContain('Required startTime missing');
      expect(error.details.outcome).toEqual([{ severity: 'fatal', code: 'required', epicCodes: ['59108'] }]);
    });

    it('hands back a status the caller accepts (404 on a read)', async () => {
      router.on('GET', /Practitioner\/abc$/, {
        status: 404,
        body: { resourceType: 'OperationOutcome', issue: [] },
      });

      const res = await new FhirClient(deps).request(read({ acceptStatuses: [404] }));

      expect(res.status).toBe(404);
      expect(res.resource?.resourceType).toBe('OperationOutcome');
    });
  });

  it('never logs the access token', async () => {
    router.on('GET', /Practitioner\/abc$/, { status: 503 }, 1);
    router.on('GET', /Practitioner\/abc$/, { status: 401 }, 1);
    router.on('GET', /Practitioner\/abc$/, { status: 200, body: PRACTITIONER }, 1);

    await new FhirClient(deps).request(read());

    expect(deps.logLines.length).toBeGreaterThan(0);
    expect(everythingLoggedOrThrown()).not.toContain('SECRETVALUE');
    expect(everythingLoggedOrThrown()).not.toContain('Bearer');
  });
});
