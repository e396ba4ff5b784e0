import { ConfigError } from '../../functions/core/errors/app-error.js';
import { nonprod } from './nonprod.js';
import { prod } from './prod.js';
import { ENVIRONMENT_NAMES, type EnvironmentConfig, type EnvironmentName } from './types.js';

export const ENVIRONMENTS: Readonly<Record<EnvironmentName, EnvironmentConfig>> = { nonprod, prod };

/** The (not yet validated) config of the environment named by the `env` context value. */
export function selectEnvironmentConfig(env: unknown): { config: EnvironmentConfig; source: string } {
  if (typeof env !== 'string' || !(ENVIRONMENT_NAMES as readonly string[]).includes(env)) {
    throw new ConfigError('CDK context', [
      `env: must be one of ${ENVIRONMENT_NAMES.join(', ')} (got ${JSON.stringify(env)}); ` +
        'run e.g. `npx cdk synth -c env=nonprod`',
    ]);
  }
  const name = env as EnvironmentName;
  return { config: ENVIRONMENTS[name], source: `infra/config/${name}.ts` };
}
