import type { Clock } from '../clock.js';
import type { TenantRegistry } from '../config/tenants.js';
import { InvalidInputError } from '../errors/app-error.js';
import type { TokenProvider } from './types.js';

/** `POST /epic/oauth/refresh` (API.md): a usable Epic access token for a tenant. */
export interface RefreshRequest {
  tenant: string;
  force: boolean;
}

export interface RefreshResponse {
  tenant: string;
  access_token: string;
  token_type: 'Bearer';
  expires_at: string;
  /** Seconds left from now (not the lifetime Epic granted at mint time). */
  expires_in: number;
  /** As Epic granted it; empty when Epic returned none. */
  scope: string;
  refreshed: boolean;
}

const ALLOWED_FIELDS = ['tenant', 'force'];

/** Validates the body before anything else happens; errors name the field. */
export function parseRefreshRequest(body: Record<string, unknown>, tenants: TenantRegistry): RefreshRequest {
  for (const key of Object.keys(body)) {
    if (!ALLOWED_FIELDS.includes(key)) {
      throw new InvalidInputError(
        key,
        `Unknown field "${key}". Allowed fields: ${ALLOWED_FIELDS.join(', ')}.`,
      );
    }
  }
  const { tenant, force } = body;
  if (typeof tenant !== 'string' || tenant.length === 0) {
    throw new InvalidInputError('tenant', `"tenant" is required: ${tenants.describeIds()}.`);
  }
  if (force !== undefined && typeof force !== 'boolean') {
    throw new InvalidInputError('force', '"force" must be true or false (default false).');
  }
  tenants.get(tenant);
  return { tenant, force: force === true };
}

export async function refreshToken(
  request: RefreshRequest,
  deps: { tokens: TokenProvider; clock: Clock },
): Promise<RefreshResponse> {
  const provided = request.force
    ? await deps.tokens.forceRefresh(request.tenant)
    : await deps.tokens.getToken(request.tenant);
  const { token } = provided;
  return {
    tenant: request.tenant,
    access_token: token.access_token,
    token_type: 'Bearer',
    expires_at: token.expires_at,
    expires_in: Math.max(0, Math.floor((Date.parse(token.expires_at) - deps.clock.now()) / 1000)),
    scope: token.scope ?? '',
    refreshed: provided.refreshed,
  };
}
