import { readTenantsFile } from './tenants-file.js';
import type { EnvironmentConfig } from './types.js';

/**
 * Non-production: the non-production Epic client id (Epic's sandbox and every health system's test
 * Epic). Tenants live in `tenants/nonprod.json`, the same format the local runtime reads.
 */
export const nonprod: EnvironmentConfig = {
  envName: 'nonprod',
  epicClientId: '87b94317-7a53-4a96-8a89-998bd31f3ade',
  tenants: readTenantsFile('nonprod.json'),
  signingKeys: [{ name: 'signing-2026-12', alg: 'RS384', state: 'active' }],
  jwksMaxAgeSeconds: 3600,
  warmerIntervalMinutes: 5,
  forceRefreshMinIntervalSeconds: 30,
  logRetentionDays: 30,
  logLevel: 'INFO',
  apiThrottle: { rateLimit: 50, burstLimit: 100 },
};
