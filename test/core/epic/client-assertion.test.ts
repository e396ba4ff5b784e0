import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ASSERTION_LIFETIME_SECONDS,
  createClientAssertion,
} from '../../../functions/core/epic/client-assertion.js';
import { buildJwks } from '../../../functions/core/keys/jwks.js';
import { LocalSigningKeys } from '../../../functions/core/keys/local-signing-keys.js';
import type { SigningAlg } from '../../../functions/core/keys/types.js';

const CLIENT_ID = '87b94317-7a53-4a96-8a89-998bd31f3ade';
const TOKEN_URL = 'https://fhir.epic.com/interconnect-fhir-oauth/oauth2/token';
const FROZEN_NOW = Date.parse('2026-12-04T10:00:00.500Z');

describe.each<SigningAlg>(['RS384', 'ES384'])('a client assertion signed with %s', (alg) => {
  let keys: LocalSigningKeys;

  beforeAll(async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'assertion-'));
    keys = await LocalSigningKeys.open({ stateDir, keys: [{ keyId: `k-${alg}`, alg, state: 'active' }] });
  });

  it('verifies against our own JWK Set and carries the header Epic expects', async () => {
    const { assertion, kid } = await createClientAssertion(keys, {
      clientId: CLIENT_ID,
      tokenUrl: TOKEN_URL,
      nowMs: FROZEN_NOW,
    });

    const jwks = createLocalJWKSet(await buildJwks(keys));
    const { payload, protectedHeader } = await compactVerify(assertion, jwks, { algorithms: [alg] });

    expect(protectedHeader).toEqual({ alg, typ: 'JWT', kid });
    const claims = JSON.parse(Buffer.from(payload).toString('utf8'));
    const iat = Math.floor(FROZEN_NOW / 1000);
    expect(claims).toEqual({
      iss: CLIENT_ID,
      sub: CLIENT_ID,
      aud: TOKEN_URL,
      jti: expect.any(String),
      iat,
      nbf: iat,
      exp: iat + ASSERTION_LIFETIME_SECONDS,
    });
    expect(Number.isInteger(claims.exp)).toBe(true);
    expect(claims.exp - claims.iat).toBeLessThan(300);
    expect(claims.jti.length).toBeLessThanOrEqual(151);
  });

  it('uses a fresh jti on every assertion', async () => {
    const jtis = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { assertion } = await createClientAssertion(keys, {
        clientId: CLIENT_ID,
        tokenUrl: TOKEN_URL,
        nowMs: FROZEN_NOW,
      });
      jtis.add(JSON.parse(Buffer.from(assertion.split('.')[1]!, 'base64url').toString('utf8')).jti);
      expect(decodeProtectedHeader(assertion).alg).toBe(alg);
    }
    expect(jtis.size).toBe(20);
  });
});
