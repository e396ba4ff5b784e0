import { parseTenantsFile, type TenantsFile } from '../../functions/core/config/tenants.js';
import { ConfigError } from '../../functions/core/errors/app-error.js';
import { parseKeyConfigs } from '../../functions/core/keys/key-config.js';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  LOG_LEVELS,
  RSA_KEY_SPECS,
  type SigningKeyConfig,
  type ValidatedEnvironmentConfig,
} from './types.js';

/** Retention values CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEY_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;
const ACM_CERT_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

const CONFIG_FIELDS = [
  'envName',
  'epicClientId',
  'tenants',
  'signingKeys',
  'jwksMaxAgeSeconds',
  'warmerIntervalMinutes',
  'forceRefreshMinIntervalSeconds',
  'logRetentionDays',
  'logLevel',
  'apiThrottle',
  'customDomain',
  'alarmTopicArn',
] as const;
const KEY_FIELDS = ['name', 'alg', 'state', 'keySpec', 'existingKeyArn'] as const;
const DOMAIN_FIELDS = ['domainName', 'certificateArn', 'hostedZoneId', 'hostedZoneName'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownFields(value: Obj, allowed: readonly string[], path: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      problems.push(`${path}${key}: unknown field (allowed: ${allowed.join(', ')})`);
  }
}

function integerIn(value: unknown, field: string, min: number, max: number, problems: string[]): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${field}: must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
}

function matches(value: unknown, pattern: RegExp, field: string, hint: string, problems: string[]): void {
  if (typeof value !== 'string' || !pattern.test(value)) {
    problems.push(`${field}: ${JSON.stringify(value)} ${hint}`);
  }
}

/** The tenants file through the shared validator, its problems re-rooted under `tenants.`. */
function validateTenants(value: unknown, problems: string[]): TenantsFile | undefined {
  try {
    // An environment may start with no tenant (prod before its first health system): the JWK Set
    // URL must be live before any health system can be onboarded. The functions accept it too.
    return parseTenantsFile(value, 'tenants', { allowEmpty: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const p of error.problems)
      problems.push(p.startsWith('(root)') ? `tenants${p.slice(6)}` : `tenants.${p}`);
    return undefined;
  }
}

function validateSigningKeys(value: unknown, problems: string[]): SigningKeyConfig[] {
  if (!Array.isArray(value)) {
    problems.push('signingKeys: must be an array of {name, alg, state, keySpec?, existingKeyArn?}');
    return [];
  }
  const keys: SigningKeyConfig[] = [];
  const arns = new Map<string, number>();
  value.forEach((entry, i) => {
    const path = `signingKeys[${i}]`;
    if (!isObj(entry)) return; // reported by parseKeyConfigs below
    unknownFields(entry, KEY_FIELDS, `${path}.`, problems);
    matches(entry.name, KEY_NAME, `${path}.name`, `must match ${KEY_NAME} (it names the alias)`, problems);
    if (entry.keySpec !== undefined) {
      if (entry.alg !== 'RS384')
        problems.push(`${path}.keySpec: only RS384 keys take a keySpec (ES384 is ECC_NIST_P384)`);
      else if (!(RSA_KEY_SPECS as readonly unknown[]).includes(entry.keySpec))
        problems.push(`${path}.keySpec: must be one of ${RSA_KEY_SPECS.join(', ')}`);
    }
    if (entry.existingKeyArn !== undefined) {
      matches(
        entry.existingKeyArn,
        KMS_KEY_ARN,
        `${path}.existingKeyArn`,
        'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>)',
        problems,
      );
      if (typeof entry.existingKeyArn === 'string') {
        const first = arns.get(entry.existingKeyArn);
        if (first !== undefined)
          problems.push(`${path}.existingKeyArn: already used by signingKeys[${first}]`);
        arns.set(entry.existingKeyArn, i);
      }
    }
    keys.push(entry as unknown as SigningKeyConfig);
  });
  // The shared rules (known alg and state, exactly one active, at most one next, unique names).
  const shared = value.map((e) => (isObj(e) ? { keyId: e.name, alg: e.alg, state: e.state } : e));
  try {
    parseKeyConfigs(shared, 'signingKeys');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const p of error.problems) {
      // parseKeyConfigs names its list `keys`; here it is `signingKeys`, and `keyId` is `name`.
      problems.push(
        p
          .replace(/^keys/, 'signingKeys')
          .replace(/\bkeys\[/g, 'signingKeys[')
          .replace(/^(signingKeys\[\d+\])\.keyId/, '$1.name'),
      );
    }
  }
  return keys;
}

function validateDomain(value: unknown, problems: string[]): void {
  if (value === undefined) return;
  if (!isObj(value)) {
    problems.push(`customDomain: must be an object {${DOMAIN_FIELDS.join(', ')}}`);
    return;
  }
  unknownFields(value, DOMAIN_FIELDS, 'customDomain.', problems);
  const { domainName, hostedZoneName } = value;
  if (typeof domainName === 'string' && /^[a-z]+:\/\//i.test(domainName)) {
    problems.push(
      `customDomain.domainName: "${domainName}" is a URL; give the host name only, e.g. "epic.example.org"`,
    );
  } else {
    matches(
      domainName,
      HOST_NAME,
      'customDomain.domainName',
      'must be a lower-case DNS host name, e.g. "epic.example.org"',
      problems,
    );
  }
  matches(
    value.certificateArn,
    ACM_CERT_ARN,
    'customDomain.certificateArn',
    'must be an ACM certificate ARN',
    problems,
  );
  matches(
    value.hostedZoneId,
    HOSTED_ZONE_ID,
    'customDomain.hostedZoneId',
    'must be a Route 53 hosted zone id (Z...)',
    problems,
  );
  matches(
    hostedZoneName,
    HOST_NAME,
    'customDomain.hostedZoneName',
    "must be the hosted zone's DNS name",
    problems,
  );
  if (
    typeof domainName === 'string' &&
    typeof hostedZoneName === 'string' &&
    domainName !== hostedZoneName &&
    !domainName.endsWith(`.${hostedZoneName}`)
  ) {
    problems.push(`customDomain.domainName: "${domainName}" is not inside hosted zone "${hostedZoneName}"`);
  }
}

/**
 * Checks one environment's config and parses its tenants file. Throws a single ConfigError that
 * lists every problem, each starting with the field path (e.g. `signingKeys: exactly one key must
 * have state "active"`, `tenants.tenants[0].id: ...`, `customDomain.domainName: ...`).
 */
export function validateEnvironmentConfig(
  input: unknown,
  source = 'environment config',
): ValidatedEnvironmentConfig {
  if (!isObj(input)) throw new ConfigError(source, ['(root): must be an object']);
  const problems: string[] = [];
  unknownFields(input, CONFIG_FIELDS, '', problems);
  if (!(ENVIRONMENT_NAMES as readonly unknown[]).includes(input.envName))
    problems.push(
      `envName: must be one of ${ENVIRONMENT_NAMES.join(', ')} (got ${JSON.stringify(input.envName)})`,
    );
  if (input.epicClientId === undefined || input.epicClientId === '') {
    problems.push(
      "epicClientId: missing; give this environment's Epic client id (a UUID from the Epic app registration)",
    );
  } else {
    matches(input.epicClientId, CLIENT_ID, 'epicClientId', 'must be the Epic client id, a UUID', problems);
  }
  const tenants = validateTenants(input.tenants, problems);
  validateSigningKeys(input.signingKeys, problems);
  integerIn(input.jwksMaxAgeSeconds, 'jwksMaxAgeSeconds', 60, 86_400, problems);
  integerIn(input.warmerIntervalMinutes, 'warmerIntervalMinutes', 1, 30, problems);
  integerIn(input.forceRefreshMinIntervalSeconds, 'forceRefreshMinIntervalSeconds', 1, 3600, problems);
  if (!(LOG_RETENTION_DAYS as readonly unknown[]).includes(input.logRetentionDays))
    problems.push(
      `logRetentionDays: must be one of ${LOG_RETENTION_DAYS.join(', ')} (got ${JSON.stringify(input.logRetentionDays)})`,
    );
  if (!(LOG_LEVELS as readonly unknown[]).includes(input.logLevel))
    problems.push(`logLevel: must be one of ${LOG_LEVELS.join(', ')}`);
  if (!isObj(input.apiThrottle)) {
    problems.push('apiThrottle: must be an object {rateLimit, burstLimit}');
  } else {
    unknownFields(input.apiThrottle, ['rateLimit', 'burstLimit'], 'apiThrottle.', problems);
    integerIn(input.apiThrottle.rateLimit, 'apiThrottle.rateLimit', 1, 10_000, problems);
    integerIn(input.apiThrottle.burstLimit, 'apiThrottle.burstLimit', 1, 5_000, problems);
  }
  validateDomain(input.customDomain, problems);
  if (input.alarmTopicArn !== undefined)
    matches(input.alarmTopicArn, SNS_TOPIC_ARN, 'alarmTopicArn', 'must be an SNS topic ARN', problems);

  if (problems.length > 0 || tenants === undefined) throw new ConfigError(source, problems);
  const config = input as unknown as EnvironmentConfig;
  return { ...config, tenants };
}
