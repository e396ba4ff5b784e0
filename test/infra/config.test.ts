import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/errors/app-error.js';
import { ENVIRONMENTS, selectEnvironmentConfig } from '../../infra/config/index.js';
import { validateEnvironmentConfig } from '../../infra/config/validate.js';
import { configWith, synthesize } from './synth.js';

/** The problems a config is rejected with (fails the test if it is accepted). */
function problemsOf(config: unknown): string[] {
  try {
    validateEnvironmentConfig(config, 'test config');
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('config was accepted');
}

const tenant = (patch: Record<string, unknown>) => ({
  ...(ENVIRONMENTS.nonprod.tenants as { tenants: Record<string, unknown>[] }).tenants[0],
  ...patch,
});

describe('the shipped environment configs', () => {
  it('are valid', () => {
    expect(validateEnvironmentConfig(ENVIRONMENTS.nonprod).tenants.tenants.map((t) => t.id)).toEqual([
      'sandbox',
    ]);
    expect(validateEnvironmentConfig(ENVIRONMENTS.prod).tenants.tenants).toEqual([]);
  });
});

describe('an invalid config fails synth with a message naming the field', () => {
  it('when a tenant id is not a valid id', () => {
    // Arrange
    const config = configWith('nonprod', (c) => {
      c.tenants = { tenants: [tenant({ id: 'Bad_Tenant' })] };
    });
    // Act / Assert
    expect(() => synthesize(config)).toThrow(/tenants\.tenants\[0\]\.id: "Bad_Tenant" must match/);
  });

  it('when the Epic client id is missing', () => {
    const config = configWith('nonprod', (c) => {
      delete c.epicClientId;
    });
    expect(() => synthesize(config)).toThrow(/epicClientId: missing/);
  });

  it('when two signing keys are active', () => {
    const config = configWith('prod', (c) => {
      c.signingKeys = [
        { name: 'signing-a', alg: 'RS384', state: 'active' },
        { name: 'signing-b', alg: 'ES384', state: 'active' },
      ];
    });
    expect(() => synthesize(config)).toThrow(
      /signingKeys: exactly one key must have state "active" \(signingKeys\[0\], signingKeys\[1\] have it\)/,
    );
  });

  it('when a tenant URL is malformed', () => {
    const config = configWith('nonprod', (c) => {
      c.tenants = { tenants: [tenant({ fhirBaseUrl: 'fhir.example.org/api/FHIR/R4' })] };
    });
    expect(() => synthesize(config)).toThrow(
      /tenants\.tenants\[0\]\.fhirBaseUrl: "fhir\.example\.org\/api\/FHIR\/R4" is not a valid URL/,
    );
  });

  it('when the custom domain is given as a URL', () => {
    const config = configWith('prod', (c) => {
      c.customDomain = {
        domainName: 'https://epic.example.org/epic',
        certificateArn: 'arn:aws:acm:eu-west-1:111122223333:certificate/12345678-1234-1234-1234-123456789012',
        hostedZoneId: 'Z0123456789ABCDEFGHIJ',
        hostedZoneName: 'example.org',
      };
    });
    expect(() => synthesize(config)).toThrow(
      /customDomain\.domainName: "https:\/\/epic\.example\.org\/epic" is a URL/,
    );
  });

  it('lists every problem at once, each with its field', () => {
    const problems = problemsOf(
      configWith('nonprod', (c) => {
        c.epicClientId = 'not-a-client-id';
        c.jwksMaxAgeSeconds = 0;
        c.warmerIntervalMinutes = 90;
        c.logRetentionDays = 10;
        c.alarmTopicArn = 'my-topic';
        c.signingKeys = [{ name: 'Key One', alg: 'PS384', state: 'active', keySpec: 'RSA_1024' }];
        c.surprise = true;
      }),
    );
    const fields = problems.map((p) => p.split(':')[0]);
    expect(fields).toEqual(
      expect.arrayContaining([
        'epicClientId',
        'jwksMaxAgeSeconds',
        'warmerIntervalMinutes',
        'logRetentionDays',
        'alarmTopicArn',
        'surprise',
        'signingKeys[0].name',
        'signingKeys[0].keySpec',
        'signingKeys[0].alg',
      ]),
    );
  });

  it('when an existing key ARN is not a KMS key ARN, or a hosted zone does not hold the domain', () => {
    const problems = problemsOf(
      configWith('prod', (c) => {
        c.signingKeys = [{ name: 'imported', alg: 'RS384', state: 'active', existingKeyArn: 'alias/my-key' }];
        c.customDomain = {
          domainName: 'epic.example.org',
          certificateArn:
            'arn:aws:acm:eu-west-1:111122223333:certificate/12345678-1234-1234-1234-123456789012',
          hostedZoneId: 'Z0123456789ABCDEFGHIJ',
          hostedZoneName: 'example.com',
        };
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^signingKeys\[0\]\.existingKeyArn: "alias\/my-key" must be a KMS key ARN/),
        expect.stringMatching(
          /^customDomain\.domainName: "epic\.example\.org" is not inside hosted zone "example\.com"/,
        ),
      ]),
    );
  });

  it('when the environment is not named or unknown', () => {
    expect(() => selectEnvironmentConfig(undefined)).toThrow(
      /env: must be one of nonprod, prod \(got undefined\)/,
    );
    expect(() => selectEnvironmentConfig('staging')).toThrow(
      /env: must be one of nonprod, prod \(got "staging"\)/,
    );
  });

  it('when the signing keys no longer fit in a Lambda environment (tenants no longer count)', () => {
    // Arrange: 29 retired keys and the active one; SIGNING_KEYS_JSON lists every one of them.
    const config = configWith('nonprod', (c) => {
      c.signingKeys = [
        ...Array.from({ length: 29 }, (_, i) => ({
          name: `signing-old-${i}`,
          alg: 'RS384',
          state: 'retired',
        })),
        { name: 'signing-2026-12', alg: 'RS384', state: 'active' },
      ];
    });
    // Act / Assert
    expect(() => synthesize(config)).toThrow(
      /environment: the environment of \w+ would be about \d+ bytes, over Lambda's 4096-byte limit \(largest: SIGNING_KEYS_JSON ~4800 bytes/,
    );
  });
});
