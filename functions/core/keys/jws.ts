import type { SigningAlg, SigningKeys } from './types.js';

const base64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const jsonPart = (value: unknown): string => base64url(Buffer.from(JSON.stringify(value), 'utf8'));

/**
 * Signs `payload` as a compact JWS with the active key: header `{alg, typ: "JWT", kid}` (plus
 * `extraHeader`, which may not override those three), and the signature over the ASCII bytes of
 * `base64url(header).base64url(payload)` from `keys.sign`.
 */
export async function signCompactJws(
  keys: SigningKeys,
  payload: Record<string, unknown>,
  extraHeader: Record<string, string> = {},
): Promise<{ jws: string; kid: string; alg: SigningAlg }> {
  const active = await keys.activeKey();
  const header = { ...extraHeader, alg: active.alg, typ: 'JWT', kid: active.kid };
  const signingInput = `${jsonPart(header)}.${jsonPart(payload)}`;
  const signature = await keys.sign(active.kid, Buffer.from(signingInput, 'ascii'));
  return { jws: `${signingInput}.${base64url(signature)}`, kid: active.kid, alg: active.alg };
}
