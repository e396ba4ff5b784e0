import { AppError, appErrorFromJson } from '../errors/app-error.js';
import type { CachedToken, MintRequest, MintResult } from './types.js';

/**
 * The payloads between readers and the token minter Lambda (synchronous invoke), and the
 * schedule's payload. Errors travel in their wire form so readers rethrow the same AppError code.
 */
export type MinterEvent =
  | ({ action: 'mint' } & MintRequest)
  | { action: 'warm' }
  /** EventBridge scheduled event (the warmer schedule may also send `{action: "warm"}`). */
  | { 'detail-type': 'Scheduled Event'; source: string };

export type MintResponse =
  | { ok: true; token: CachedToken; minted: boolean }
  | { ok: false; error: { error: string; message: string; details: Record<string, unknown> } };

export function encodeMintResult(result: MintResult): MintResponse {
  return { ok: true, token: result.token, minted: result.minted };
}

export function encodeMintError(error: unknown): MintResponse {
  if (error instanceof AppError) return { ok: false, error: error.toJSON() };
  return {
    ok: false,
    error: {
      error: 'token_unavailable',
      message: 'The token minter failed unexpectedly; see its logs.',
      details: {},
    },
  };
}

/** Parses the minter's answer; anything unexpected is `token_unavailable`. */
export function decodeMintResponse(value: unknown): MintResult {
  const v = value as Partial<{ ok: boolean; token: CachedToken; minted: boolean; error: unknown }> | null;
  if (
    v &&
    v.ok === true &&
    v.token &&
    typeof v.token.access_token === 'string' &&
    typeof v.minted === 'boolean'
  ) {
    return { token: v.token, minted: v.minted };
  }
  if (v && v.ok === false) {
    const error = appErrorFromJson(v.error);
    if (error) throw error;
  }
  throw new AppError('token_unavailable', 'The token minter returned an unexpected answer; see its logs.');
}

export function isWarmEvent(event: unknown): boolean {
  const e = event as Record<string, unknown> | null;
  return !!e && (e.action === 'warm' || e['detail-type'] === 'Scheduled Event');
}

export function isMintEvent(event: unknown): event is { action: 'mint' } & MintRequest {
  const e = event as Record<string, unknown> | null;
  return (
    !!e &&
    e.action === 'mint' &&
    typeof e.tenant === 'string' &&
    typeof e.force === 'boolean' &&
    (e.rejectedTokenSha256 === undefined || typeof e.rejectedTokenSha256 === 'string')
  );
}
