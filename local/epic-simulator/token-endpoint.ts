/**
 * The token endpoint's judgement of one request, the way Epic judges a backend (SMART Backend
 * Services) token request: form checks, then the client assertion's header and claims decoded
 * WITHOUT trusting them and checked strictly against the simulator clock (no leeway), then the
 * signature against the client's JWK Set URL, then the client's user mapping.
 *
 * Rejection reasons are simulator-specific text for stats and test failures. They never contain
 * the assertion; header or claim values they quote are short, public values (alg, client id, ...).
 */
import { compactVerify, importJWK, type JWK, errors as joseErrors } from 'jose';
import type { Clock } from '../../functions/core/clock.js';
import type { FetchedJwk, JwksCache } from './jwks-cache.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The only assertion algorithms Epic accepts. */
export const ACCEPTED_ASSERTION_ALGS = ['RS384', 'ES384'] as const;
/** `exp` may be at most this far ahead of the server's clock, and `exp - iat` at most this long. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
export const MAX_JTI_LENGTH = 151;

/** The OAuth `error` codes Epic's token endpoint answers with (always HTTP 400). */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'unauthorized_client';

/** Why a request was refused: the OAuth `error` to answer and a reason for stats. */
export interface TokenRejection {
  ok: false;
  error: OAuthErrorCode;
  reason: string;
}

export type TokenDecision =
  | { ok: true; clientId: string; requestedScope: string | undefined }
  | TokenRejection;

/** What the endpoint knows about one registered client. */
export interface RegisteredClient {
  clientId: string;
  jwksUrl: string;
  mappedToUser: boolean;
}

/** One organization's view, as the token endpoint needs it. */
export interface TokenEndpointContext {
  /** The exact URL `aud` must equal. */
  tokenUrl: string;
  clients: ReadonlyMap<string, RegisteredClient>;
  jwks: JwksCache;
  jtis: JtiRegistry;
  clock: Clock;
}

/**
 * `jti`s seen per client, remembered until their assertion's `exp` (after which the assertion
 * itself would be rejected as expired). Claiming is synchronous, so two concurrent requests with
 * one `jti` cannot both pass while the first is still verifying its signature.
 */
export class JtiRegistry {
  private readonly seen = new Map<string, number>();

  /** Records the jti and returns true, or returns false when it is already in use. */
  claim(clientId: string, jti: string, expSeconds: number, nowSeconds: number): boolean {
    for (const [seenKey, seenExp] of this.seen) {
      if (seenExp < nowSeconds) this.seen.delete(seenKey);
    }
    const id = key(clientId, jti);
    if (this.seen.has(id)) return false;
    this.seen.set(id, expSeconds);
    return true;
  }

  /** Forgets a claimed jti whose assertion turned out not to be the client's (bad signature). */
  release(clientId: string, jti: string): void {
    this.seen.delete(key(clientId, jti));
  }
}

function key(clientId: string, jti: string): string {
  return `${clientId}\u0000${jti}`;
}

const reject = (error: OAuthErrorCode, reason: string): TokenRejection => ({ ok: false, error, reason });
const invalidClient = (reason: string): TokenRejection => reject('invalid_client', reason);

/** Decides a token request from its `Content-Type` header and raw body. */
export async function decideTokenRequest(
  contentType: string | undefined,
  rawBody: string,
  ctx: TokenEndpointContext,
): Promise<TokenDecision> {
  const mediaType = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded') {
    return reject('invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
  }
  const form = new URLSearchParams(rawBody);
  for (const name of new Set(form.keys())) {
    if (form.getAll(name).length > 1) return reject('invalid_request', `parameter "${clip(name)}" repeated`);
  }
  const grantType = form.get('grant_type');
  if (grantType !== 'client_credentials') {
    return reject(
      'invalid_request',
      grantType ? `grant_type "${clip(grantType)}" is not client_credentials` : 'grant_type missing',
    );
  }
  if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
    return reject('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
  }
  const assertion = form.get('client_assertion');
  if (!assertion) return reject('invalid_request', 'client_assertion missing');

  const decision = await judgeAssertion(assertion, form.get('client_id'), ctx);
  if (!decision.ok) return decision;
  const scope = form.get('scope');
  return { ok: true, clientId: decision.clientId, requestedScope: scope ? scope : undefined };
}

async function judgeAssertion(
  assertion: string,
  formClientId: string | null,
  ctx: TokenEndpointContext,
): Promise<{ ok: true; clientId: string } | TokenRejection> {
  const decoded = decodeCompactJws(assertion);
  if (decoded === undefined) {
    return invalidClient('client_assertion is not a compact JWS with JSON header and claims');
  }
  const { header, claims } = decoded;

  // Header
  const alg = header.alg;
  if (typeof alg !== 'string' || !(ACCEPTED_ASSERTION_ALGS as readonly string[]).includes(alg)) {
    return invalidClient(
      `header alg ${typeof alg === 'string' ? `"${clip(alg)}"` : 'missing'}; only RS384 or ES384`,
    );
  }
  if (typeof header.kid !== 'string' || header.kid === '') return invalidClient('header kid missing');
  if (header.typ !== 'JWT') {
    return invalidClient(
      header.typ === undefined
        ? 'header typ missing; it must be "JWT"'
        : `header typ ${JSON.stringify(clip(String(header.typ)))} is not "JWT"`,
    );
  }

  // Issuer and client
  const { iss, sub } = claims;
  if (typeof iss !== 'string' || iss === '') return invalidClient('claim iss missing');
  if (sub !== iss) return invalidClient('claim sub must equal iss (the client id)');
  const client = ctx.clients.get(iss);
  if (client === undefined) return invalidClient(`unknown client id "${clip(iss)}"`);
  if (formClientId !== null && formClientId !== iss) return invalidClient('form client_id differs from iss');

  // Audience and time
  if (claims.aud !== ctx.tokenUrl) {
    return invalidClient(`claim aud must be exactly the token URL ${ctx.tokenUrl}`);
  }
  const nowSeconds = ctx.clock.now() / 1000;
  const { exp, iat, nbf } = claims;
  if (exp === undefined) return invalidClient('claim exp missing');
  if (typeof exp !== 'number' || !Number.isInteger(exp)) return invalidClient('claim exp is not an integer');
  if (exp <= nowSeconds) return invalidClient('assertion expired (exp is not in the future)');
  if (exp > nowSeconds + MAX_ASSERTION_LIFETIME_SECONDS) {
    return invalidClient('claim exp is more than 5 minutes in the future');
  }
  if (iat !== undefined) {
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return invalidClient('claim iat is not a number');
    if (iat > nowSeconds) return invalidClient('claim iat is in the future');
    if (exp - iat > MAX_ASSERTION_LIFETIME_SECONDS) {
      return invalidClient('exp - iat is more than 300 seconds');
    }
  }
  if (nbf !== undefined) {
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return invalidClient('claim nbf is not a number');
    if (nbf > nowSeconds) return invalidClient('claim nbf is in the future');
  }

  // Replay
  const { jti } = claims;
  if (typeof jti !== 'string' || jti === '') return invalidClient('claim jti missing or not a string');
  if (jti.length > MAX_JTI_LENGTH) return invalidClient(`claim jti longer than ${MAX_JTI_LENGTH} characters`);

  // Key
  if (header.jku !== undefined && header.jku !== client.jwksUrl) {
    return invalidClient('header jku differs from the registered JWK Set URL');
  }
  if (!ctx.jtis.claim(iss, jti, exp, nowSeconds)) return invalidClient('claim jti already used (replay)');
  const keyProblem = await verifyWithClientKeys(assertion, alg, header.kid, client.jwksUrl, ctx.jwks);
  if (keyProblem !== undefined) {
    ctx.jtis.release(iss, jti);
    return invalidClient(keyProblem);
  }

  if (!client.mappedToUser) {
    return reject(
      'unauthorized_client',
      `client "${clip(iss)}" is not mapped to an Epic user at this organization`,
    );
  }
  return { ok: true, clientId: iss };
}

type KeyAttempt =
  | { kind: 'verified' }
  /** Worth one re-fetch of the JWK Set. */
  | { kind: 'retry'; reason: string }
  | { kind: 'final'; reason: string };

/**
 * Verifies the assertion with the client's key `kid`: cached JWK Set first; when the kid is unknown
 * or the signature fails, one re-fetch (unless this request already fetched). Returns the failure
 * reason, or undefined when verified.
 */
async function verifyWithClientKeys(
  jws: string,
  alg: string,
  kid: string,
  jwksUrl: string,
  jwks: JwksCache,
): Promise<string | undefined> {
  const first = await jwks.get(jwksUrl);
  let attempt = first.lookup.ok
    ? await tryKeys(jws, alg, kid, first.lookup.keys)
    : ({ kind: 'final', reason: first.lookup.reason } as const);
  if (attempt.kind === 'retry' && !first.fetched) {
    const second = await jwks.refresh(jwksUrl);
    attempt = second.ok
      ? await tryKeys(jws, alg, kid, second.keys)
      : { kind: 'final', reason: second.reason };
  }
  return attempt.kind === 'verified' ? undefined : attempt.reason;
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

async function tryKeys(jws: string, alg: string, kid: string, keys: FetchedJwk[]): Promise<KeyAttempt> {
  const matching = keys.filter((jwk) => jwk.kid === kid);
  const jwk = matching[0];
  if (jwk === undefined) return { kind: 'retry', reason: 'no key with this kid in the JWK Set' };
  if (matching.length > 1) return { kind: 'final', reason: 'the JWK Set has several keys with this kid' };
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
    return { kind: 'final', reason: 'the JWK Set publishes private key material' };
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    return {
      kind: 'final',
      reason: `JWK alg ${JSON.stringify(clip(String(jwk.alg)))} differs from header alg ${alg}`,
    };
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return { kind: 'final', reason: 'JWK use is not "sig"' };
  const fits = alg === 'RS384' ? jwk.kty === 'RSA' : jwk.kty === 'EC' && jwk.crv === 'P-384';
  if (!fits) return { kind: 'final', reason: `JWK key type does not fit ${alg}` };
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(jwk as JWK, alg);
  } catch {
    return { kind: 'final', reason: 'JWK could not be imported as a public key' };
  }
  try {
    await compactVerify(jws, key, { algorithms: [alg] });
    return { kind: 'verified' };
  } catch (error) {
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      return { kind: 'retry', reason: 'signature does not verify with the key of this kid' };
    }
    // jose's messages name the rule (e.g. RSA modulus under 2048 bits), never the token.
    return {
      kind: 'final',
      reason: `key rejected: ${error instanceof Error ? clip(error.message, 120) : 'error'}`,
    };
  }
}

type JsonObject = Record<string, unknown>;

/** Splits and JSON-decodes a compact JWS without verifying anything. */
function decodeCompactJws(jws: string): { header: JsonObject; claims: JsonObject } | undefined {
  const parts = jws.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) return undefined;
  const header = parseJsonObject(parts[0] ?? '');
  const claims = parseJsonObject(parts[1] ?? '');
  if (header === undefined || claims === undefined) return undefined;
  return { header, claims };
}

function parseJsonObject(part: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

function clip(value: string, max = 64): string {
  return value.length > max ? `${value.slice(0, max)}...` : value;
}
