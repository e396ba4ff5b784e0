import type { PublicJwk, SigningKeys } from './types.js';

/** Only the members a public JWK may carry, in a stable order. */
function publicMembers(jwk: PublicJwk): PublicJwk {
  const base = { kty: jwk.kty, kid: jwk.kid, alg: jwk.alg, use: 'sig' as const };
  return jwk.kty === 'RSA' ? { ...base, n: jwk.n, e: jwk.e } : { ...base, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/**
 * The JWK Set Epic fetches: every `active` and `next` key (active first), public members only.
 * Retired keys are left out.
 */
export async function buildJwks(keys: SigningKeys): Promise<{ keys: PublicJwk[] }> {
  const all = await keys.publicKeys();
  const published = [...all.filter((k) => k.state === 'active'), ...all.filter((k) => k.state === 'next')];
  return { keys: published.map((k) => publicMembers(k.jwk)) };
}
