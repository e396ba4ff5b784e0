import { describe, expect, it } from 'vitest';
import { readMinterConfig, readReaderConfig } from '../../functions/lambda/config.js';

describe('Lambda configuration from the environment', () => {
  it('lists every missing or bad value together', () => {
    let message = '';
    try {
      readMinterConfig({
        TENANTS_JSON: '{"tenants":[{"id":"X"}]}',
        SIGNING_KEYS_JSON: '[]',
        FORCE_REFRESH_MIN_INTERVAL_SECONDS: 'soon',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/EPIC_CLIENT_ID: required/);
    expect(message).toMatch(/TENANTS_JSON: tenants\[0\]\.id/);
    expect(message).toMatch(/SIGNING_KEYS_JSON: /);
    expect(message).toMatch(/TOKEN_SECRET_PREFIX: required/);
    expect(message).toMatch(/FORCE_REFRESH_MIN_INTERVAL_SECONDS: "soon"/);
  });

  it('reads a complete reader environment', () => {
    const config = readReaderConfig({
      EPIC_CLIENT_ID: 'c',
      TENANTS_JSON: JSON.stringify({
        tenants: [
          {
            id: 'a',
            name: 'A',
            fhirBaseUrl: 'https://a.example.org/FHIR/R4',
            scheduling: {
              serviceTypeSystem: 'urn:oid:1.2',
              serviceTypes: [{ code: '1' }],
              providerBasedScheduling: true,
            },
          },
        ],
      }),
      TOKEN_SECRET_PREFIX: 'epic/nonprod/token/',
      MINTER_FUNCTION_NAME: 'minter',
    });
    expect(config).toMatchObject({ clientId: 'c', environment: 'nonprod', safetyMarginSeconds: 60 });
    expect(config.tenants.tenants.map((t) => t.id)).toEqual(['a']);
  });
});
