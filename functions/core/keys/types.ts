/**
 * "The signing keys": public keys with their rotation states, and signing with the active key.
 * Implementations: AWS KMS (`../aws/kms-signing-keys.ts`) and a local file-backed key
 * (`./local-signing-keys.ts`) for `npm start` and tests. Private keys never leave KMS.
 */
export type SigningAlg = 'RS384' | 'ES384';

/** Epic's rotation states (ARCHITECTURE.md, decision 2). Only `next` and `active` are published. */
export type KeyState = 'next' | 'active' | 'retired';

/** A key as configured: which key, which algorithm, which state. */
export interface KeyConfig {
  /** KMS key id, ARN or alias (KMS); a file-safe name (local). */
  keyId: string;
  alg: SigningAlg;
  state: KeyState;
}

/** A public JWK with public members only. */
export interface PublicJwk {
  kty: 'RSA' | 'EC';
  kid: string;
  alg: SigningAlg;
  use: 'sig';
  n?: string;
  e?: string;
  crv?: 'P-384';
  x?: string;
  y?: string;
}

export interface PublicSigningKey {
  /** RFC 7638 SHA-256 thumbprint of the public JWK. */
  kid: string;
  alg: SigningAlg;
  state: KeyState;
  /** The configured key id (KMS key id/ARN/alias, or local name). */
  keyId: string;
  jwk: PublicJwk;
}

export interface SigningKeys {
  /** Every configured key that is not retired, with its state. Cached per container. */
  publicKeys(): Promise<PublicSigningKey[]>;
  /** The one `active` key. */
  activeKey(): Promise<PublicSigningKey>;
  /**
   * Signs `signingInput` (the ASCII bytes of `base64url(header).base64url(payload)`) with the key
   * whose thumbprint is `kid`, returning the JWS signature bytes (RS384: PKCS#1 v1.5; ES384: the
   * 96-byte r||s form).
   */
  sign(kid: string, signingInput: Uint8Array): Promise<Uint8Array>;
}
