import { fileURLToPath } from 'node:url';
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { ENVIRONMENTS } from './config/index.js';
import { validateEnvironmentConfig } from './config/validate.js';
import { EpicIntegrationStack } from './stack.js';

/** The repo root (holds package.json, package-lock.json and functions/). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/**
 * Adds one environment's stack to `app` and the cdk-nag packs (AwsSolutions, HIPAA.Security) to the
 * whole app. The config is validated first; a bad config throws a ConfigError naming each field.
 * Unsuppressed findings fail `cdk synth` (the CLI reports them and exits non-zero).
 */
export function buildApp(app: App, rawConfig: unknown, source = 'environment config'): EpicIntegrationStack {
  const config = validateEnvironmentConfig(rawConfig, source);
  const stack = new EpicIntegrationStack(app, `EpicIntegration-${config.envName}`, {
    config,
    epicClientIds: { nonprod: ENVIRONMENTS.nonprod.epicClientId, prod: ENVIRONMENTS.prod.epicClientId },
    projectRoot: PROJECT_ROOT,
    description: `Epic Backend Systems integration (${config.envName})`,
    // Account and region come from the deploying credentials (no hard-coded ids); offline synth
    // produces an environment-agnostic template.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    tags: { application: 'epic-integration', environment: config.envName },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new HIPAASecurityChecks(app));
  return stack;
}
