/**
 * Test support for the Epic simulator: a frozen clock, real keys, assertions signed with jose, a
 * tiny loopback JWK Set server, and a token request helper. Everything runs on 127.0.0.1.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { calculateJwkThumbprint, type JWK, type JWTHeaderParameters, type JWTPayload, SignJWT } from 'jose';
import type { Clock } from '../../../functions/core/clock.js';

export const CLIENT_ID = '87b94317-7a53-4a96-8a89-998bd31f3ade';
/** A frozen instant with a fractional second, so rounding mistakes in claims would show. */
export const T0_MS = Date.parse('2026-12-04T12:00:00.250Z');
export const T0_SECONDS = Math.floor(T0_MS / 1000);

export class FrozenClock implements Clock {
  constructor(private ms: number = T0_MS) {}
  now(): number {
    return this.ms;
  }
  advanceSeconds(seconds: number): void {
    this.ms += seconds * 1000;
  }
  reset(ms: number = T0_MS): void {
    this.ms = ms;
  }
}

export interface TestKey {
  kid: string;
  alg: 'RS384' | 'ES384';
  privateKey: KeyObject;
  /** The public JWK as our product publishes it: kty, kid, alg, use and public members. */
  publicJwk: JWK;
}

export async function generateTestKey(alg: 'RS384' | 'ES384' = 'RS384'): Promise<TestKey> {
  const { privateKey, publicKey } =
    alg === 'RS384'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const members = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(members);
  return { kid, alg, privateKey, publicJwk: { ...members, kid, alg, use: 'sig' } };
}

/** Claims Epic accepts at `T0`: iss = sub = client, aud = token URL, 4-minute exp, fresh jti. */
export function validClaims(tokenUrl: string, nowSeconds = T0_SECONDS): JWTPayload {
  return {
    iss: CLIENT_ID,
    sub: CLIENT_ID,
    aud: tokenUrl,
    jti: crypto.randomUUID(),
    iat: nowSeconds,
    exp: nowSeconds + 240,
  };
}

/**
 * Signs `claims` with `key`. `header` overrides the default `{alg, kid, typ: "JWT"}`; a member set
 * to undefined is left out.
 */
export async function signAssertion(
  key: TestKey,
  claims: JWTPayload,
  header: Partial<Record<keyof JWTHeaderParameters, unknown>> = {},
): Promise<string> {
  const protectedHeader = Object.fromEntries(
    Object.entries({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).filter(
      ([, value]) => value !== undefined,
    ),
  ) as JWTHeaderParameters;
  return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(key.privateKey);
}

/** A compact JWS with an arbitrary header and an empty or given signature, for unsigned forms. */
export function unsignedAssertion(
  header: Record<string, unknown>,
  claims: JWTPayload,
  signature = '',
): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode(header)}.${encode(claims)}.${signature}`;
}

export interface TokenResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs a backend token request (form fields overridable; undefined drops a field). */
export async function requestToken(
  tokenUrl: string,
  assertion: string,
  fields: Record<string, string | undefined> = {},
  contentType = 'application/x-www-form-urlencoded',
): Promise<TokenResponse> {
  const form = Object.entries({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    ...fields,
  }).filter((entry): entry is [string, string] => entry[1] !== undefined);
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: new URLSearchParams(form).toString(),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: JSON.parse(text) as Record<string, unknown>,
  };
}

/** A loopback JWK Set URL whose keys, Cache-Control and availability a test controls. */
export interface JwksServer {
  url: string;
  keys: JWK[];
  /** Sent as Cache-Control when set. */
  cacheControl: string | undefined;
  /** When set, answers this status with no keys. */
  failWithStatus: number | undefined;
  requests: number;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[] = []): Promise<JwksServer> {
  const state = {
    url: '',
    keys,
    cacheControl: undefined as string | undefined,
    failWithStatus: undefined as number | undefined,
    requests: 0,
    close: async () => {},
  };
  const server: Server = createServer((_req, res) => {
    state.requests++;
    if (state.failWithStatus !== undefined) {
      res.writeHead(state.failWithStatus).end();
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (state.cacheControl !== undefined) headers['cache-control'] = state.cacheControl;
    res.writeHead(200, headers).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  state.url = `http://127.0.0.1:${address.port}/epic/oauth`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** Obtains an access token from `tokenUrl` with a fresh valid assertion at `nowSeconds`. */
export async function obtainToken(tokenUrl: string, key: TestKey, nowSeconds = T0_SECONDS): Promise<string> {
  const response = await requestToken(tokenUrl, await signAssertion(key, validClaims(tokenUrl, nowSeconds)));
  if (response.status !== 200) throw new Error(`token request failed: ${JSON.stringify(response.body)}`);
  return String(response.body.access_token);
}
