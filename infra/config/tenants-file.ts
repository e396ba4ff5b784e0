import { readFileSync } from 'node:fs';
import { ConfigError } from '../../functions/core/errors/app-error.js';

/** The directory of the per-environment tenants files (`infra/config/tenants/`). */
export const TENANTS_DIR = new URL('./tenants/', import.meta.url);

/**
 * Reads `infra/config/tenants/<file>` as JSON (unvalidated: `validateEnvironmentConfig` checks it
 * with the shared tenants validator and names every bad field).
 */
export function readTenantsFile(file: string): unknown {
  const url = new URL(file, TENANTS_DIR);
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch (error) {
    throw new ConfigError(`tenants file ${file}`, [`cannot be read: ${(error as Error).message}`]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`tenants file ${file}`, [`not valid JSON: ${(error as Error).message}`]);
  }
}
