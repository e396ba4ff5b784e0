import { resolve } from 'node:path';
import { EnvReader } from '../../functions/lambda/config.js';
import { type LocalRuntimeOptions, NONPROD_CLIENT_ID } from './app.js';

/**
 * The local runtime's settings from the environment (API.md, "Local runtime"), shared by
 * `npm start` and `npm run preflight`: PORT, EPIC_CLIENT_ID, TENANTS_FILE, STATE_DIR, KEY_SOURCE,
 * KMS_KEY_IDS, TOKEN_STORE, TOKEN_SECRET_PREFIX, WARMER_INTERVAL_SECONDS. Paths are resolved against
 * the working directory. Every missing or bad value is reported together in one ConfigError.
 */
export type LocalRuntimeSettings = Required<
  Pick<LocalRuntimeOptions, 'port' | 'clientId' | 'keySource' | 'tokenStore' | 'warmerIntervalMs'>
> &
  Pick<LocalRuntimeOptions, 'kmsKeyIds' | 'tokenSecretPrefix' | 'tenantsFile'> & {
    /** STATE_DIR resolved, or undefined when unset (each command picks its own default). */
    stateDir?: string;
  };

export function readLocalRuntimeSettings(
  env: Record<string, string | undefined>,
  source = 'Local runtime settings',
): LocalRuntimeSettings {
  const reader = new EnvReader(env);
  const port = reader.integer('PORT', 3000, 1, 65_535);
  const keySource = reader.optionalString('KEY_SOURCE') ?? 'local';
  const tokenStore = reader.optionalString('TOKEN_STORE') ?? 'file';
  if (keySource !== 'local' && keySource !== 'kms') {
    reader.problems.push(`KEY_SOURCE: "${keySource}" must be local or kms`);
  }
  if (tokenStore !== 'file' && tokenStore !== 'secretsmanager') {
    reader.problems.push(`TOKEN_STORE: "${tokenStore}" must be file or secretsmanager`);
  }
  const kmsKeyIds = (reader.optionalString('KMS_KEY_IDS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (keySource === 'kms' && kmsKeyIds.length === 0) {
    reader.problems.push('KMS_KEY_IDS: required when KEY_SOURCE=kms');
  }
  const tokenSecretPrefix = reader.optionalString('TOKEN_SECRET_PREFIX');
  const tenantsFile = reader.optionalString('TENANTS_FILE');
  const stateDir = reader.optionalString('STATE_DIR');
  const warmerIntervalSeconds = reader.integer('WARMER_INTERVAL_SECONDS', 300, 0, 86_400);
  const clientId = reader.optionalString('EPIC_CLIENT_ID') ?? NONPROD_CLIENT_ID;
  reader.done(source);
  return {
    port,
    clientId,
    keySource: keySource as 'local' | 'kms',
    tokenStore: tokenStore as 'file' | 'secretsmanager',
    warmerIntervalMs: warmerIntervalSeconds * 1000,
    ...(kmsKeyIds.length ? { kmsKeyIds } : {}),
    ...(tokenSecretPrefix ? { tokenSecretPrefix } : {}),
    ...(tenantsFile ? { tenantsFile: resolve(tenantsFile) } : {}),
    ...(stateDir ? { stateDir: resolve(stateDir) } : {}),
  };
}
