import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { lambdaContext } from '../../local/runtime/api-gateway-adapter.js';
import { type TestDeps, tenantConfig, testDeps } from '../core/scheduling/support/fakes.js';

/** A tiny in-process fake Epic behind `fetch` that records every call (no network at all). */
export interface RecordingEpic {
  fetch: typeof fetch;
  calls: Array<{ method: string; url: string; body: unknown }>;
}

const fhirJson = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/fhir+json' } });

const JANE = {
  resourceType: 'Practitioner',
  id: 'r4-jane',
  identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }],
  name: [{ use: 'usual', text: 'Jane Smith, MD', family: 'Smith', given: ['Jane'] }],
};

export function recordingEpic(): RecordingEpic {
  const calls: RecordingEpic['calls'] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    calls.push({ method: init?.method ?? 'GET', url: url.toString(), body });
    if (url.pathname.endsWith('/Appointment/$find')) {
      return fhirJson(200, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: 0,
        entry: [
          {
            resource: {
              resourceType: 'OperationOutcome',
              issue: [{ severity: 'warning', code: 'processing', details: { coding: [{ code: '4101' }] } }],
            },
            search: { mode: 'outcome' },
          },
        ],
      });
    }
    if (/\/Practitioner\/[^/]+$/.test(url.pathname))
      return fhirJson(200, { ...JANE, id: url.pathname.split('/').pop() });
    if (url.pathname.endsWith('/Practitioner')) {
      const npi = url.searchParams.get('identifier')?.split('|').pop();
      const found = npi
        ? { ...JANE, identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi }] }
        : JANE;
      return fhirJson(200, {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [{ resource: found, search: { mode: 'match' } }],
      });
    }
    return new Response('unexpected', { status: 599 });
  }) as typeof fetch;
  return { fetch: fetchFn, calls };
}

export function handlerDeps(epic: RecordingEpic): TestDeps {
  return testDeps([tenantConfig('http://127.0.0.1:9')], { fetch: epic.fetch });
}

export function apiEvent(
  body: string | null,
  contentType: string | undefined = 'application/json',
): APIGatewayProxyEvent {
  return {
    resource: '/epic/find-slots',
    path: '/epic/find-slots',
    httpMethod: 'POST',
    headers: contentType ? { 'Content-Type': contentType } : {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

export type Handler = (
  event: APIGatewayProxyEvent,
  context: ReturnType<typeof lambdaContext>,
) => Promise<APIGatewayProxyResult>;

export async function invoke(handler: Handler, event: APIGatewayProxyEvent) {
  const result = await handler(event, lambdaContext('find-slots'));
  return {
    status: result.statusCode,
    headers: result.headers ?? {},
    body: JSON.parse(result.body) as Record<string, unknown>,
  };
}
