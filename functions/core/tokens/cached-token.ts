import { TENANT_ID_PATTERN } from '../config/tenants.js';
import { isJsonObject } from '../values.js';
import type { CachedToken } from './types.js';

/** Strict ISO 8601 date-time with a zone (what `Date.prototype.toISOString` writes, offsets allowed). */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const isoTime = (v: unknown): v is string =>
  typeof v === 'string' && ISO_DATE_TIME.test(v) && !Number.isNaN(Date.parse(v));

/**
 * Validates a stored token record (the JSON the minter writes) for `tenant`. Returns the token, or a
 * problem that is safe to log: it names fields and never quotes the stored text or the token. A
 * record stored for another tenant is "foreign" and never served. Unknown fields are dropped.
 */
export function parseCachedToken(text: string, tenant: string): CachedToken | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input, which may hold the token: never pass it on.
    return { problem: 'not valid JSON' };
  }
  if (!isJsonObject(value)) return { problem: 'not a JSON object' };

  if (typeof value.tenant !== 'string') return { problem: 'tenant: missing or not a string' };
  if (value.tenant !== tenant) {
    const other = TENANT_ID_PATTERN.test(value.tenant) ? `"${value.tenant}"` : 'another tenant';
    return { problem: `foreign: the record belongs to ${other}, not "${tenant}"` };
  }

  const problems: string[] = [];
  const { access_token, token_type, scope, expires_in, expires_at, obtained_at, kid } = value;
  if (typeof access_token !== 'string' || access_token.length === 0)
    problems.push('access_token: missing or not a non-empty string');
  if (typeof token_type !== 'string' || token_type.toLowerCase() !== 'bearer')
    problems.push('token_type: must be "Bearer" (any case)');
  if (scope !== undefined && typeof scope !== 'string') problems.push('scope: not a string');
  if (typeof expires_in !== 'number' || !Number.isFinite(expires_in) || expires_in <= 0)
    problems.push('expires_in: must be a positive number of seconds');
  if (!isoTime(expires_at)) problems.push('expires_at: must be an ISO 8601 date-time');
  if (!isoTime(obtained_at)) problems.push('obtained_at: must be an ISO 8601 date-time');
  if (isoTime(expires_at) && isoTime(obtained_at) && Date.parse(expires_at) <= Date.parse(obtained_at))
    problems.push('expires_at: must be later than obtained_at');
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0))
    problems.push('kid: not a non-empty string');
  if (problems.length > 0) return { problem: problems.join('; ') };

  return {
    tenant,
    access_token: access_token as string,
    token_type: token_type as string,
    ...(scope !== undefined ? { scope: scope as string } : {}),
    expires_in: expires_in as number,
    expires_at: expires_at as string,
    obtained_at: obtained_at as string,
    ...(kid !== undefined ? { kid: kid as string } : {}),
  };
}
