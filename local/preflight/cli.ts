import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createTokenUrlResolver } from '../../functions/core/epic/smart-configuration.js';
import { AppError, ConfigError } from '../../functions/core/errors/app-error.js';
import type { AppLogger } from '../../functions/core/observability/powertools.js';
import { formatPreflightReport } from '../../functions/core/preflight/format-report.js';
import { runPreflight } from '../../functions/core/preflight/run-preflight.js';
import { EnvReader } from '../../functions/lambda/config.js';
import { createLocalRuntime, NONPROD_CLIENT_ID } from '../runtime/app.js';

/**
 * `npm run preflight -- --tenant <id> [--practitioner "<name>"] [--jwks-url <url>] [--json]`
 *
 * Runs the per-tenant preflight with the local runtime's settings (API.md, "Local runtime":
 * TENANTS_FILE, STATE_DIR, EPIC_CLIENT_ID, KEY_SOURCE, KMS_KEY_IDS, TOKEN_STORE, ...). Without
 * TENANTS_FILE it checks the built-in sandbox tenants on the embedded Epic simulator. The JWK Set
 * URL checked is --jwks-url, else PUBLIC_JWKS_URL, else the local runtime's own.
 * Exit status: 0 when no check failed, 1 when one did, 2 on a usage or configuration error.
 */
const USAGE =
  'Usage: npm run preflight -- --tenant <id> [--practitioner "<name>"] [--jwks-url <url>] [--json]\n';

/** Log lines go to stderr only when PREFLIGHT_VERBOSE is set; the table is the output. */
function cliLogger(verbose: boolean): AppLogger {
  const write =
    (level: string) =>
    (message: unknown, ...fields: unknown[]) => {
      if (verbose) process.stderr.write(`${JSON.stringify({ level, message, fields })}\n`);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

async function main(argv: string[]): Promise<number> {
  let values: { tenant?: string; practitioner?: string; 'jwks-url'?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        tenant: { type: 'string' },
        practitioner: { type: 'string' },
        'jwks-url': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.tenant) {
    process.stderr.write(`--tenant is required.\n${USAGE}`);
    return 2;
  }

  const env = new EnvReader(process.env);
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
  const tenantsFile = env.optionalString('TENANTS_FILE');
  const tokenSecretPrefix = env.optionalString('TOKEN_SECRET_PREFIX');
  const publicJwksUrl = values['jwks-url'] ?? env.optionalString('PUBLIC_JWKS_URL');
  const stateDirSetting = env.optionalString('STATE_DIR');
  env.done('Preflight settings');

  const logger = cliLogger(process.env.PREFLIGHT_VERBOSE !== undefined);
  // Against the embedded simulator a throw-away state dir keeps the developer's .local/ untouched.
  const scratch = tenantsFile || stateDirSetting ? undefined : await mkdtemp(join(tmpdir(), 'preflight-'));
  const runtime = await createLocalRuntime({
    port: 0,
    stateDir: resolve(stateDirSetting ?? scratch ?? '.local'),
    clientId: env.optionalString('EPIC_CLIENT_ID') ?? NONPROD_CLIENT_ID,
    keySource: keySource as 'local' | 'kms',
    tokenStore: tokenStore as 'file' | 'secretsmanager',
    ...(kmsKeyIds.length ? { kmsKeyIds } : {}),
    ...(tokenSecretPrefix ? { tokenSecretPrefix } : {}),
    ...(tenantsFile ? { tenantsFile: resolve(tenantsFile) } : {}),
    logger,
  });
  try {
    const report = await runPreflight(
      values.tenant,
      {
        reader: runtime.reader,
        tokenUrls: createTokenUrlResolver({
          fetch: runtime.reader.fetch,
          clock: runtime.reader.clock,
          logger,
        }),
        jwksUrl: publicJwksUrl ?? runtime.jwksUrl,
        activeKid: async () => (await runtime.keys.activeKey()).kid,
      },
      values.practitioner ? { practitionerName: values.practitioner } : {},
    );
    process.stdout.write(
      values.json ? `${JSON.stringify(report, null, 2)}\n` : formatPreflightReport(report),
    );
    return report.ok ? 0 : 1;
  } finally {
    await runtime.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof AppError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`Preflight failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
