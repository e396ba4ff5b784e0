import { resolve } from 'node:path';
import { ConfigError } from '../../functions/core/errors/app-error.js';
import { EnvReader } from '../../functions/lambda/config.js';
import { createLocalRuntime, NONPROD_CLIENT_ID } from './app.js';

/**
 * `npm start`: the local runtime on 127.0.0.1:$PORT with the settings of API.md ("Local runtime").
 * Prints its URLs and example calls; Ctrl-C stops it.
 */
async function main(): Promise<void> {
  const env = new EnvReader(process.env);
  const port = env.integer('PORT', 3000, 1, 65_535);
  const keySource = env.optionalString('KEY_SOURCE') ?? 'local';
  const tokenStore = env.optionalString('TOKEN_STORE') ?? 'file';
  if (keySource !== 'local' && keySource !== 'kms')
    env.problems.push(`KEY_SOURCE: "${keySource}" must be local or kms`);
  if (tokenStore !== 'file' && tokenStore !== 'secretsmanager') {
    env.problems.push(`TOKEN_STORE: "${tokenStore}" must be file or secretsmanager`);
  }
  const kmsKeyIds = (env.optionalString('KMS_KEY_IDS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (keySource === 'kms' && kmsKeyIds.length === 0)
    env.problems.push('KMS_KEY_IDS: required when KEY_SOURCE=kms');
  const tokenSecretPrefix = env.optionalString('TOKEN_SECRET_PREFIX');
  const tenantsFile = env.optionalString('TENANTS_FILE');
  const warmerIntervalSeconds = env.integer('WARMER_INTERVAL_SECONDS', 300, 0, 86_400);
  env.done('Local runtime settings');

  const runtime = await createLocalRuntime({
    port,
    stateDir: resolve(env.optionalString('STATE_DIR') ?? '.local'),
    clientId: env.optionalString('EPIC_CLIENT_ID') ?? NONPROD_CLIENT_ID,
    keySource: keySource as 'local' | 'kms',
    tokenStore: tokenStore as 'file' | 'secretsmanager',
    ...(kmsKeyIds.length ? { kmsKeyIds } : {}),
    ...(tokenSecretPrefix ? { tokenSecretPrefix } : {}),
    ...(tenantsFile ? { tenantsFile: resolve(tenantsFile) } : {}),
    warmerIntervalMs: warmerIntervalSeconds * 1000,
  });

  const tenant = runtime.tenants.ids()[0] ?? 'sandbox';
  const lines = [
    '',
    `Epic backend integration (local runtime) listening on ${runtime.url}`,
    runtime.simulator
      ? `Embedded Epic sandbox simulator on ${runtime.simulator.url} (tenants: ${runtime.tenants.ids().join(', ')})`
      : `Tenants from ${tenantsFile}: ${runtime.tenants.ids().join(', ')}`,
    '',
    'Routes:',
    ...runtime.routes.map((r) => `  ${r.method.padEnd(4)} ${runtime.url}${r.path}`),
    '',
    'Try:',
    `  curl -s ${runtime.jwksUrl}`,
    `  curl -s -X POST ${runtime.refreshUrl} -H 'Content-Type: application/json' -d '{"tenant":"${tenant}"}'`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const stop = async () => {
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`Local runtime failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
