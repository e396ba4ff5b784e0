import { describe, expect, it } from 'vitest';
import {
  parseTenantsFile,
  parseTenantsJson,
  TenantRegistry,
} from '../../../functions/core/config/tenants.js';
import { ConfigError } from '../../../functions/core/errors/app-error.js';

const valid = () => ({
  id: 'sandbox',
  name: 'Epic sandbox',
  fhirBaseUrl: 'https://fhir.epic.com/interconnect-fhir-oauth/api/FHIR/R4',
  scheduling: {
    serviceTypeSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.3.808267.11',
    serviceTypes: [{ code: '95014', display: 'Office Visit' }],
    providerBasedScheduling: false,
  },
});

const problemsOf = (value: unknown): string[] => {
  try {
    parseTenantsFile(value);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
};

describe('the tenants file', () => {
  it('accepts the API.md example and derives the STU3 base from the R4 base', () => {
    const { tenants } = parseTenantsFile({ tenants: [valid()] });
    expect(tenants[0]).toMatchObject({
      stu3BaseUrl: 'https://fhir.epic.com/interconnect-fhir-oauth/api/FHIR/STU3',
      scheduling: { providerBasedScheduling: false },
    });
    expect(tenants[0]!.tokenUrl).toBeUndefined();
  });

  it('reports every problem at once, each naming its field', () => {
    const bad = {
      tenants: [
        { ...valid(), id: 'Bad_ID' },
        { ...valid(), id: 'b', fhirBaseUrl: 'http://example.org/R4', surprise: true },
        {
          ...valid(),
          id: 'c',
          tokenUrl: 'not a url',
          scheduling: { ...valid().scheduling, serviceTypes: [] },
        },
      ],
    };
    const problems = problemsOf(bad);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tenants\[0\]\.id: /),
        expect.stringMatching(/^tenants\[1\]\.fhirBaseUrl: .*https/),
        expect.stringMatching(/^tenants\[1\]\.surprise: unknown field/),
        expect.stringMatching(/^tenants\[2\]\.tokenUrl: /),
        expect.stringMatching(/^tenants\[2\]\.scheduling\.serviceTypes: /),
      ]),
    );
  });

  it('rejects duplicate tenant ids and a base URL without /R4 and no stu3BaseUrl', () => {
    expect(problemsOf({ tenants: [valid(), valid()] })).toEqual([
      expect.stringMatching(/tenants\[1\]\.id: "sandbox" is used/),
    ]);
    expect(problemsOf({ tenants: [{ ...valid(), fhirBaseUrl: 'https://x.example.org/FHIR' }] })).toEqual([
      expect.stringMatching(/tenants\[0\]\.stu3BaseUrl: required/),
    ]);
  });

  it('reports a JSON syntax error as a config error', () => {
    expect(() => parseTenantsJson('{nope')).toThrow(ConfigError);
  });

  it('answers an unknown tenant with unknown_tenant listing the known ids', () => {
    const registry = new TenantRegistry(parseTenantsFile({ tenants: [valid()] }).tenants);
    expect(() => registry.get('elsewhere')).toThrow(expect.objectContaining({ code: 'unknown_tenant' }));
    expect(registry.describeIds()).toBe('one of the configured tenant ids: sandbox');
  });

  describe('with no tenant', () => {
    it('is refused by default (a local tenants file with no tenant is a mistake)', () => {
      expect(problemsOf({ tenants: [] })).toEqual(['tenants: must be a non-empty array']);
    });

    it('is accepted with allowEmpty (a deployed environment before its first health system)', () => {
      expect(parseTenantsJson('{"tenants": []}', 'TENANTS_FILE', { allowEmpty: true })).toEqual({
        tenants: [],
      });
    });

    it('with allowEmpty still needs a tenants array and no other field', () => {
      expect(() => parseTenantsFile({ tenants: [], extra: 1 }, 'f', { allowEmpty: true })).toThrow(
        /\(root\)\.extra: unknown field/,
      );
      expect(() => parseTenantsFile({}, 'f', { allowEmpty: true })).toThrow(
        /tenants: must be an array \(it may be empty\)/,
      );
    });

    it('an empty registry says no tenant is configured yet', () => {
      const registry = new TenantRegistry([]);
      expect(() => registry.get('elsewhere')).toThrow(
        'Unknown tenant "elsewhere". No tenants are configured in this environment yet.',
      );
      expect(registry.describeIds()).toBe('no tenants are configured in this environment yet');
    });
  });
});
