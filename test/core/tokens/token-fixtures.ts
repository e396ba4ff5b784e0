import type { CachedToken } from '../../../functions/core/tokens/types.js';

/** A realistic stored token; the access_token is unique per call so leaks are easy to spot. */
export function storedToken(overrides: Partial<CachedToken> = {}): CachedToken {
  const secret = `SECRET-ACCESS-TOKEN-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  return {
    tenant: 'mercy-health',
    access_token: secret,
    token_type: 'Bearer',
    scope: 'system/Practitioner.read system/Appointment.read',
    expires_in: 3600,
    obtained_at: '2026-12-04T10:00:00.000Z',
    expires_at: '2026-12-04T11:00:00.000Z',
    kid: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    ...overrides,
  };
}
