import { readTenantsFile } from './tenants-file.js';
import type { EnvironmentConfig } from './types.js';

/**
 * Production: the production Epic client id. Prod starts with no tenant (`tenants/prod.json` is
 * `{"tenants": []}`): the JWK Set URL must be live and registered with Epic before the first health
 * system can be onboarded. Onboarding = add the health system to `tenants/prod.json` and deploy
 * (docs/DEPLOY.md). No sandbox or demo tenant belongs here.
 *
 * Set `customDomain` and `alarmTopicArn` for your organization before the first prod deploy;
 * until both are set, synth warns (EpicIntegrationStack, not an error: CI synthesizes prod offline).
 */
export const prod: EnvironmentConfig = {
  envName: 'prod',
  epicClientId: '5a684d86-fa5e-48c0-ad06-233701199d87',
  tenants: readTenantsFile('prod.json'),
  signingKeys: [{ name: 'signing-2026-12', alg: 'RS384', state: 'active' }],
  jwksMaxAgeSeconds: 3600,
  warmerIntervalMinutes: 5,
  forceRefreshMinIntervalSeconds: 60,
  logRetentionDays: 365,
  logLevel: 'INFO',
  apiThrottle: { rateLimit: 100, burstLimit: 200 },
};
