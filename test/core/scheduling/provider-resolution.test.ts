import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TenantConfig } from '../../../functions/core/config/tenants.js';
import { FhirClient } from '../../../functions/core/epic/fhir-client.js';
import { AppError } from '../../../functions/core/errors/app-error.js';
import {
  createProviderCache,
  nameMatches,
  parseProviderName,
  resolveProvider,
  toResolvedProvider,
} from '../../../functions/core/scheduling/provider-resolution.js';
import { tenantConfig, testDeps } from './support/fakes.js';
import { type StrictRouter, startStrictRouter } from './support/strict-router.js';

const NPI = 'http://hl7.org/fhir/sid/us-npi';

function practitioner(id: string, given: string, family: string, npi: string) {
  return {
    resourceType: 'Practitioner',
    id,
    identifier: [{ system: NPI, value: npi }],
    name: [{ use: 'usual', text: `${given} ${family}, MD`, family, given: [given] }],
  };
}

const JANE = practitioner('r4-jane', 'Jane', 'Smith', '1234567893');
const JOHN = practitioner('r4-john', 'John', 'Smith', '1987654328');
const JANE_SMITHSON = practitioner('r4-smithson', 'Jane', 'Smithson', '1003000126');

const bundle = (...resources: unknown[]) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  total: resources.length,
  entry: resources.map((resource) => ({ resource, search: { mode: 'match' } })),
});

describe('parseProviderName', () => {
  it.each([
    ['Jane Smith', { family: 'smith', given: 'jane' }],
    ['Smith, Jane', { family: 'smith', given: 'jane' }],
    ['Smith', { family: 'smith' }],
    ['Dr. Jane Smith', { family: 'smith', given: 'jane' }],
    ['Jane Smith, MD', { family: 'smith', given: 'jane' }],
    ['Smith, Jane A.', { family: 'smith', given: 'jane' }],
    ['José Núñez', { family: 'nunez', given: 'jose' }],
  ])('reads "%s"', (raw, expected) => {
    expect(parseProviderName(raw)).toEqual(expected);
  });

  it('has nothing to search for in titles alone', () => {
    expect(parseProviderName('Dr. MD')).toBeUndefined();
  });
});

describe('nameMatches', () => {
  const jane = toResolvedProvider(JANE)!;

  it.each(['Jane Smith, MD', 'Smith, Jane MD', 'SMITH, JANE', 'Smith, J'])('matches "%s"', (display) => {
    expect(nameMatches(jane, display)).toBe(true);
  });

  it.each(['John Smith, MD', 'Jane Smithson', 'Smith, John R MD'])('does not match "%s"', (display) => {
    expect(nameMatches(jane, display)).toBe(false);
  });
});

describe('resolveProvider', () => {
  let router: StrictRouter;
  let tenant: TenantConfig;
  let fhir: FhirClient;

  beforeEach(async () => {
    router = await startStrictRouter();
    tenant = tenantConfig(router.url);
    fhir = new FhirClient(testDeps([tenant]));
  });

  afterEach(async () => {
    expect(router.unexpected).toEqual([]);
    await router.close();
  });

  async function failure(promise: Promise<unknown>): Promise<AppError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }

  describe('by name', () => {
    it('searches family and given and resolves the one match', async () => {
      router.on('GET', '/sandbox/api/FHIR/R4/Practitioner', { status: 200, body: bundle(JANE) });

      const provider = await resolveProvider({ kind: 'name', name: 'Jane Smith' }, tenant, fhir);

      expect(provider).toMatchObject({ id: 'r4-jane', name: 'Jane Smith, MD', npi: '1234567893' });
      expect(Object.fromEntries(router.requests[0]!.query)).toEqual({ family: 'smith', given: 'jane' });
    });

    it('prefers exact family matches over the prefix matches FHIR string search adds', async () => {
      router.on('GET', '/sandbox/api/FHIR/R4/Practitioner', {
        status: 200,
        body: bundle(JANE, JANE_SMITHSON),
      });

      const provider = await resolveProvider({ kind: 'name', name: 'Smith, Jane' }, tenant, fhir);

      expect(provider.id).toBe('r4-jane');
    });

    it('answers 409 ambiguous_provider with the candidates when several match', async () => {
      router.on('GET', '/sandbox/api/FHIR/R4/Practitioner', { status: 200, body: bundle(JANE, JOHN) });

      const error = await failure(resolveProvider({ kind: 'name', name: 'Smith' }, tenant, fhir));

      expect(error.code).toBe('ambiguous_provider');
      expect(error.details.candidates).toEqual([
        { id: 'r4-jane', name: 'Jane Smith, MD', npi: '1234567893' },
        { id: 'r4-john', name: 'John Smith, MD', npi: '1987654328' },
      ]);
    });

    it('answers 404 provider_not_found when nobody matches', async () => {
      router.on('GET', '/sandbox/api/FHIR/R4/Practitioner', {
        status: 200,
        body: {
          resourceType: 'Bundle',
          type: 'searchset',
          total: 0,
          entry: [{ resource: { resourceType: 'OperationOutcome', issue: [] }, search: { mode: 'outcome' } }],
        },
      });

      const error = await failure(resolveProvider({ kind: 'name', name: 'Nobody Here' }, tenant, fhir));

      expect(error.code).toBe('provider_not_found');
      expect(error.details).toMatchObject({ field: 'provider', name: 'Nobody Here' });
    });
  });

  describe('by NPI', () => {
    it('searches the NPI identifier system', async () => {
      router.on('GET', '/sandbox/api/FHIR/R4/Practitioner', { status: 200, body: bundle(JOHN) });

      const provider = await resolveProvider({ kind: 'npi', npi: '1987654328' }, tenant, fhir);

      expect(provider.id).toBe('r4-john');
      expect(router.requests[0]!.query.get('identifier')).toBe(`${NPI}|1987654328`);
    });
  });

  describe('by id', () => {
    it('reads the Practitioner', async () => {
      router.on('GET', '/sandbox/api/FHIR/R4/Practitioner/r4-jane', { status: 200, body: JANE });

      expect((await resolveProvider({ kind: 'id', id: 'r4-jane' }, tenant, fhir)).name).toBe(
        'Jane Smith, MD',
      );
    });

    it('answers provider_not_found when Epic answers 404', async () => {
      router.on('GET', '/sandbox/api/FHIR/R4/Practitioner/gone', {
        status: 404,
        body: { resourceType: 'OperationOutcome', issue: [{ severity: 'fatal', code: 'not-found' }] },
      });

      expect((await failure(resolveProvider({ kind: 'id', id: 'gone' }, tenant, fhir))).code).toBe(
        'provider_not_found',
      );
    });
  });

  describe('with a cache', () => {
    it('asks Epic once per tenant and query while the entry is fresh', async () => {
      router.on('GET', '/sandbox/api/FHIR/R4/Practitioner', { status: 200, body: bundle(JANE) });
      let now = 1_000_000;
      const cache = createProviderCache({ now: () => now }, { ttlMs: 60_000 });

      await resolveProvider({ kind: 'name', name: 'Jane Smith' }, tenant, fhir, { cache });
      await resolveProvider({ kind: 'name', name: 'jane  smith' }, tenant, fhir, { cache });
      now += 60_001;
      await resolveProvider({ kind: 'name', name: 'Jane Smith' }, tenant, fhir, { cache });

      expect(router.requests).toHaveLength(2);
    });
  });
});
