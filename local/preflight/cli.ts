import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AppError, ConfigError } from '../../functions/core/errors/app-error.js';
import type { AppLogger } from '../../functions/core/observability/powertools.js';
import { formatPreflightReport } from '../../functions/core/preflight/format-report.js';
import { runPreflight } from '../../functions/core/preflight/run-preflight.js';
import { EnvReader } from '../../functions/lambda/config.js';
import { createLocalRuntime } from '../runtime/app.js';
import { readLocalRuntimeSettings } from '../runtime/settings.js';

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

  // The local runtime's settings (its PORT and warmer do not apply: the CLI listens on an ephemeral
  // port and mints on demand).
  const {
    port: _port,
    warmerIntervalMs: _warmer,
    ...settings
  } = readLocalRuntimeSettings(process.env, 'Preflight settings');
  const publicJwksUrl = values['jwks-url'] ?? new EnvReader(process.env).optionalString('PUBLIC_JWKS_URL');

  const logger = cliLogger(process.env.PREFLIGHT_VERBOSE !== undefined);
  // Against the embedded simulator a throw-away state dir keeps the developer's .local/ untouched.
  const scratch =
    settings.tenantsFile || settings.stateDir ? undefined : await mkdtemp(join(tmpdir(), 'preflight-'));
  const runtime = await createLocalRuntime({
    ...settings,
    port: 0,
    stateDir: settings.stateDir ?? scratch ?? resolve('.local'),
    logger,
  });
  try {
    const report = await runPreflight(
      values.tenant,
      {
        reader: runtime.reader,
        tokenUrls: runtime.tokenUrls,
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
