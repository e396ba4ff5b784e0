import { randomBytes } from 'node:crypto';
import { signCompactJws } from '../keys/jws.js';
import type { SigningAlg, SigningKeys } from '../keys/types.js';

/**
 * The SMART Backend Services client assertion, exactly as EPIC.md describes it: header
 * `alg`/`typ`/`kid`; claims `iss` = `sub` = client id, `aud` = the exact token URL posted to, a fresh
 * `jti` on every attempt, integer `iat`/`nbf`/`exp`. Epic documents no clock leeway, so the
 * assertion is signed right before posting and lives far less than Epic's 5-minute ceiling.
 */
export const ASSERTION_LIFETIME_SECONDS = 120;

/** base64url of 32 random bytes: 43 characters, well under Epic's 151-character limit. */
export function newJti(): string {
  return randomBytes(32).toString('base64url');
}

export interface AssertionClaims {
  iss: string;
  sub: string;
  aud: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
}

export function assertionClaims(input: {
  clientId: string;
  tokenUrl: string;
  nowMs: number;
  jti?: string;
}): AssertionClaims {
  const iat = Math.floor(input.nowMs / 1000);
  return {
    iss: input.clientId,
    sub: input.clientId,
    aud: input.tokenUrl,
    jti: input.jti ?? newJti(),
    iat,
    nbf: iat,
    exp: iat + ASSERTION_LIFETIME_SECONDS,
  };
}

/** Signs a fresh assertion with the active key. The result is a secret: never log it. */
export async function createClientAssertion(
  keys: SigningKeys,
  input: { clientId: string; tokenUrl: string; nowMs: number },
): Promise<{ assertion: string; kid: string; alg: SigningAlg }> {
  const claims = assertionClaims(input);
  const { jws, kid, alg } = await signCompactJws(keys, { ...claims });
  return { assertion: jws, kid, alg };
}
