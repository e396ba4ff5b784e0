import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TENANT_ID_PATTERN } from '../config/tenants.js';
import { DependencyError, InvalidInputError } from '../errors/app-error.js';
import type { AppLogger } from '../observability/powertools.js';
import { parseCachedToken } from './cached-token.js';
import type { CachedToken, TokenStore } from './types.js';

const errnoCode = (e: unknown): string =>
  (typeof e === 'object' && e !== null && (e as NodeJS.ErrnoException).code) || 'UnknownError';

function fileSafeTenant(tenant: string): string {
  if (!TENANT_ID_PATTERN.test(tenant))
    throw new InvalidInputError('tenant', `Tenant id must match ${TENANT_ID_PATTERN}.`);
  return tenant;
}

/**
 * The local token cache: one JSON file per tenant, `<dir>/<tenant>.json`, mode 0600 in a 0700
 * directory, replaced atomically (temp file + rename) so a reader never sees half a record. A
 * corrupt or foreign file is logged (tenant and problem only) and treated as missing.
 */
export class FileTokenStore implements TokenStore {
  private readonly dir: string;
  private readonly logger: AppLogger;

  constructor(opts: { dir: string; logger: AppLogger }) {
    this.dir = opts.dir;
    this.logger = opts.logger;
  }

  async read(tenant: string): Promise<CachedToken | undefined> {
    const file = join(this.dir, `${fileSafeTenant(tenant)}.json`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      const code = errnoCode(cause);
      if (code === 'ENOENT') return undefined;
      throw new DependencyError(
        'token_store_unavailable',
        `Could not read the token file for tenant "${tenant}": ${code}.`,
        { cause, details: { tenant, errorName: code } },
      );
    }
    const parsed = parseCachedToken(text, tenant);
    if ('problem' in parsed) {
      this.logger.warn('TOKEN_CACHE_UNREADABLE', { tenant, problem: parsed.problem, store: 'file' });
      return undefined;
    }
    return parsed;
  }

  async write(token: CachedToken): Promise<void> {
    const tenant = fileSafeTenant(token.tenant);
    const file = join(this.dir, `${tenant}.json`);
    const temp = join(this.dir, `.${tenant}.json.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFile(temp, JSON.stringify(token), { mode: 0o600, flag: 'wx' });
      await chmod(temp, 0o600);
      await rename(temp, file);
    } catch (cause) {
      await rm(temp, { force: true }).catch(() => undefined);
      const code = errnoCode(cause);
      throw new DependencyError(
        'token_store_unavailable',
        `Could not write the token file for tenant "${tenant}": ${code}.`,
        { cause, details: { tenant, errorName: code } },
      );
    }
  }
}
