import { createHash } from 'node:crypto';

/**
 * The token cache contract. One record per tenant, written only by the token minter and read by
 * everyone else (find-slots, the refresh route, preflight).
 */
export interface CachedToken {
  tenant: string;
  /** Opaque: never parsed, truncated or logged. */
  access_token: string;
  /** As Epic returned it (compared case-insensitively with "bearer" before it was stored). */
  token_type: string;
  scope?: string;
  /** Seconds Epic said the token lives, as returned. */
  expires_in: number;
  /** ISO 8601: obtained_at + expires_in. */
  expires_at: string;
  /** ISO 8601: when the minter received it. */
  obtained_at: string;
  /** The signing key that authenticated the mint (public information). */
  kid?: string;
}

/** Where tokens live between invocations (Secrets Manager in AWS, a file locally). */
export interface TokenStore {
  /** The stored token, or undefined when none is stored or the stored value is unusable (logged). */
  read(tenant: string): Promise<CachedToken | undefined>;
  write(token: CachedToken): Promise<void>;
}

export interface MintRequest {
  tenant: string;
  /** Mint even when the stored token is still usable (rate limited per tenant). */
  force: boolean;
  /**
   * SHA-256 (base64url) of a token Epic rejected with 401: a stored token with this hash is treated
   * as unusable. A hash, so the token itself never travels or gets logged.
   */
  rejectedTokenSha256?: string;
}

export interface MintResult {
  token: CachedToken;
  /** True when this call obtained a new token from Epic; false when the stored one was returned. */
  minted: boolean;
}

/** The only component that signs assertions and calls Epic's token endpoint. */
export interface TokenMinter {
  mint(request: MintRequest): Promise<MintResult>;
}

export type TokenSource = 'memory' | 'store' | 'minter';

export interface ProvidedToken {
  token: CachedToken;
  source: TokenSource;
  /** True when the minter obtained a new token from Epic for this call. */
  refreshed: boolean;
}

/** What readers use: memory, then the store, then the minter; single-flight per tenant. */
export interface TokenProvider {
  getToken(tenant: string): Promise<ProvidedToken>;
  /** Forces a mint (rate limited per tenant). */
  forceRefresh(tenant: string): Promise<ProvidedToken>;
  /**
   * Epic answered 401 with this token: forget it, but only if it is still the cached one, so a
   * concurrent caller's fresh token is never thrown away.
   */
  invalidate(tenant: string, rejectedAccessToken: string): void;
}

export function tokenSha256(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'utf8').digest('base64url');
}

/** Whether `token` is the one Epic rejected (by the hash of its value; no hash = none rejected). */
export function isRejected(token: CachedToken, rejectedTokenSha256: string | undefined): boolean {
  return rejectedTokenSha256 !== undefined && tokenSha256(token.access_token) === rejectedTokenSha256;
}

export function msUntilExpiry(token: CachedToken, nowMs: number): number {
  return Date.parse(token.expires_at) - nowMs;
}

/** A token is usable while it has more than `marginMs` left. */
export function isUsable(token: CachedToken, nowMs: number, marginMs: number): boolean {
  return msUntilExpiry(token, nowMs) > marginMs;
}
