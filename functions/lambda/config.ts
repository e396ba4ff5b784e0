import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseTenantsJson, type TenantsFile } from '../core/config/tenants.js';
import { ConfigError } from '../core/errors/app-error.js';
import { parseKeyConfigs } from '../core/keys/key-config.js';
import type { KeyConfig } from '../core/keys/types.js';

/**
 * Lambda configuration from the environment (set by infra/), read once per container. Every missing
 * or bad value is collected and reported together in one ConfigError.
 */
type Env = Record<string, string | undefined>;

export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  string(name: string): string {
    const value = this.env[name];
    if (value === undefined || value.trim() === '') {
      this.problems.push(`${name}: required`);
      return '';
    }
    return value.trim();
  }

  optionalString(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}: "${raw}" must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  parse<T>(name: string, parse: (text: string) => T): T | undefined {
    const text = this.string(name);
    if (text === '') return undefined;
    return this.parseText(name, text, parse);
  }

  /** Parses `text` (the value of `name`, or a file it names), problems prefixed with `name`. */
  parseText<T>(name: string, text: string, parse: (text: string) => T): T | undefined {
    try {
      return parse(text);
    } catch (error) {
      if (error instanceof ConfigError) this.problems.push(...error.problems.map((p) => `${name}: ${p}`));
      else this.problems.push(`${name}: ${(error as Error).message}`);
      return undefined;
    }
  }

  done(source: string): void {
    if (this.problems.length > 0) throw new ConfigError(source, this.problems);
  }
}

export function parseSigningKeysJson(text: string): KeyConfig[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('SIGNING_KEYS_JSON', [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseKeyConfigs(value, 'SIGNING_KEYS_JSON');
}

export interface CommonConfig {
  clientId: string;
  environment: 'nonprod' | 'prod';
  tenants: TenantsFile;
}

/**
 * The tenants, from exactly one of:
 * - TENANTS_FILE: a path to the tenants file. The stack ships it inside each bundle as
 *   `tenants.json` (Lambda caps the environment at 4 KB; a file has no such limit). A relative path
 *   resolves against LAMBDA_TASK_ROOT (where Lambda unpacks the bundle), else the working directory.
 *   Read synchronously, once per container (the readers run at init).
 * - TENANTS_JSON: the tenants file's JSON itself (tests and local tooling).
 * An empty tenant list is accepted: a deployed environment may have no tenant yet, and then every
 * tenant answers 404 `unknown_tenant`.
 */
function readTenants(reader: EnvReader): TenantsFile | undefined {
  const file = reader.optionalString('TENANTS_FILE');
  const json = reader.optionalString('TENANTS_JSON');
  const options = { allowEmpty: true };
  if (file !== undefined && json !== undefined) {
    reader.problems.push(
      'TENANTS_FILE, TENANTS_JSON: both are set; set exactly one (the stack sets TENANTS_FILE)',
    );
    return undefined;
  }
  if (json !== undefined) {
    return reader.parseText('TENANTS_JSON', json, (text) => parseTenantsJson(text, 'TENANTS_JSON', options));
  }
  if (file === undefined) {
    reader.problems.push(
      'TENANTS_FILE: required (a path to the tenants file, relative to LAMBDA_TASK_ROOT), or give TENANTS_JSON',
    );
    return undefined;
  }
  const root = reader.optionalString('LAMBDA_TASK_ROOT') ?? process.cwd();
  const path = isAbsolute(file) ? file : resolve(root, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    reader.problems.push(`TENANTS_FILE: cannot read "${path}" (${code})`);
    return undefined;
  }
  return reader.parseText('TENANTS_FILE', text, (t) => parseTenantsJson(t, path, options));
}

export function readCommonConfig(reader: EnvReader): CommonConfig {
  const clientId = reader.string('EPIC_CLIENT_ID');
  const environment = reader.optionalString('EPIC_ENVIRONMENT') ?? 'nonprod';
  if (environment !== 'nonprod' && environment !== 'prod') {
    reader.problems.push(`EPIC_ENVIRONMENT: "${environment}" must be nonprod or prod`);
  }
  const tenants = readTenants(reader);
  return {
    clientId,
    environment: environment === 'prod' ? 'prod' : 'nonprod',
    tenants: tenants ?? { tenants: [] },
  };
}

/** Settings shared by token readers (refresh, find-slots, preflight). */
export interface ReaderConfig extends CommonConfig {
  tokenSecretPrefix: string;
  minterFunctionName: string;
  safetyMarginSeconds: number;
}

export function readReaderConfig(env: Env = process.env): ReaderConfig {
  const reader = new EnvReader(env);
  const common = readCommonConfig(reader);
  const config: ReaderConfig = {
    ...common,
    tokenSecretPrefix: reader.string('TOKEN_SECRET_PREFIX'),
    minterFunctionName: reader.string('MINTER_FUNCTION_NAME'),
    safetyMarginSeconds: reader.integer('TOKEN_SAFETY_MARGIN_SECONDS', 60, 10, 600),
  };
  reader.done('Lambda environment');
  return config;
}

export interface MinterConfig extends CommonConfig {
  signingKeys: KeyConfig[];
  tokenSecretPrefix: string;
  forceRefreshMinIntervalSeconds: number;
  safetyMarginSeconds: number;
  /** The warmer schedule's interval (set by infra from the same config as the schedule). */
  warmerIntervalSeconds: number;
}

export function readMinterConfig(env: Env = process.env): MinterConfig {
  const reader = new EnvReader(env);
  const common = readCommonConfig(reader);
  const config: MinterConfig = {
    ...common,
    signingKeys: reader.parse('SIGNING_KEYS_JSON', parseSigningKeysJson) ?? [],
    tokenSecretPrefix: reader.string('TOKEN_SECRET_PREFIX'),
    forceRefreshMinIntervalSeconds: reader.integer('FORCE_REFRESH_MIN_INTERVAL_SECONDS', 30, 1, 3600),
    safetyMarginSeconds: reader.integer('TOKEN_SAFETY_MARGIN_SECONDS', 60, 10, 600),
    warmerIntervalSeconds: reader.integer('WARMER_INTERVAL_SECONDS', 300, 60, 3600),
  };
  reader.done('Lambda environment');
  return config;
}

export interface JwksConfig {
  signingKeys: KeyConfig[];
  maxAgeSeconds: number;
}

export function readJwksConfig(env: Env = process.env): JwksConfig {
  const reader = new EnvReader(env);
  const config: JwksConfig = {
    signingKeys: reader.parse('SIGNING_KEYS_JSON', parseSigningKeysJson) ?? [],
    maxAgeSeconds: reader.integer('JWKS_MAX_AGE_SECONDS', 3600, 0, 86_400),
  };
  reader.done('Lambda environment');
  return config;
}
