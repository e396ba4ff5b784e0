import { createSign, generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cacheSeconds,
  createEpicSimulator,
  type EpicSimulator,
  MAX_JWKS_CACHE_SECONDS,
} from '../../../local/epic-simulator/index.js';
import {
  CLIENT_ID,
  FrozenClock,
  generateTestKey,
  type JwksServer,
  requestToken,
  signAssertion,
  startJwksServer,
  type TestKey,
  validClaims,
} from './support.js';

interface Setup {
  clock: FrozenClock;
  jwks: JwksServer;
  sim: EpicSimulator;
  tokenUrl: string;
  /** Signs a valid assertion for the current simulator time and posts it. */
  mint(
    key: TestKey,
    header?: Record<string, unknown>,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(keys: JWK[], cacheControl?: string): Promise<Setup> {
  const clock = new FrozenClock();
  const jwks = await startJwksServer(keys);
  jwks.cacheControl = cacheControl;
  const sim = await createEpicSimulator({
    clock,
    organizations: [{ id: 'org', clients: [{ clientId: CLIENT_ID, jwksUrl: jwks.url }] }],
  });
  cleanups.push(
    () => sim.close(),
    () => jwks.close(),
  );
  const tokenUrl = sim.endpoints('org').tokenUrl;
  const mint = async (key: TestKey, header: Record<string, unknown> = {}) => {
    const nowSeconds = Math.floor(clock.now() / 1000);
    return requestToken(tokenUrl, await signAssertion(key, validClaims(tokenUrl, nowSeconds), header));
  };
  return { clock, jwks, sim, tokenUrl, mint };
}

const rsaPromise = generateTestKey('RS384');
const nextRsaPromise = generateTestKey('RS384');

describe('how the simulator fetches and caches a client’s JWK Set', () => {
  describe('when the cache is warm', () => {
    it('does not fetch the JWK Set again for the next assertion', async () => {
      // Arrange
      const rsa = await rsaPromise;
      const { jwks, sim, mint } = await setup([rsa.publicJwk]);

      // Act
      const first = await mint(rsa);
      const second = await mint(rsa);

      // Assert
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(sim.stats('org').jwksFetches).toBe(1);
      expect(jwks.requests).toBe(1);
    });

    it('re-fetches exactly once for an unknown kid, then rejects it', async () => {
      const rsa = await rsaPromise;
      const { sim, mint } = await setup([rsa.publicJwk]);
      await mint(rsa);

      const response = await mint(rsa, { kid: 'a-kid-nobody-published' });

      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('org').jwksFetches).toBe(2);
      expect(sim.stats('org').rejections[0]?.reason).toMatch(/no key with this kid/);
    });

    it('re-fetches exactly once when the signature does not verify', async () => {
      const [rsa, other] = await Promise.all([rsaPromise, nextRsaPromise]);
      const { sim, mint } = await setup([rsa.publicJwk]);
      await mint(rsa);

      const response = await mint(other, { kid: rsa.kid });

      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('org').jwksFetches).toBe(2);
    });
  });

  describe('when the client rotates to a new key', () => {
    it('accepts the new kid after one re-fetch and keeps using the refreshed cache', async () => {
      // Arrange: the cache holds only the old key; then the new key is published
      const [oldKey, newKey] = await Promise.all([rsaPromise, nextRsaPromise]);
      const { jwks, sim, mint } = await setup([oldKey.publicJwk]);
      await mint(oldKey);
      jwks.keys = [oldKey.publicJwk, newKey.publicJwk];

      // Act
      const withNewKey = await mint(newKey);
      const again = await mint(newKey);
      const withOldKey = await mint(oldKey);

      // Assert
      expect([withNewKey.status, again.status, withOldKey.status]).toEqual([200, 200, 200]);
      expect(sim.stats('org').jwksFetches).toBe(2);
    });
  });

  describe('when the cache expires', () => {
    it('honours Cache-Control max-age on the simulator clock', async () => {
      const rsa = await rsaPromise;
      const { clock, sim, mint } = await setup([rsa.publicJwk], 'public, max-age=60');
      await mint(rsa);

      clock.advanceSeconds(59);
      await mint(rsa);
      const fetchesWithinMaxAge = sim.stats('org').jwksFetches;
      clock.advanceSeconds(2);
      await mint(rsa);

      expect(fetchesWithinMaxAge).toBe(1);
      expect(sim.stats('org').jwksFetches).toBe(2);
    });

    it('keeps a JWK Set without Cache-Control for 29 hours', async () => {
      const rsa = await rsaPromise;
      const { clock, sim, mint } = await setup([rsa.publicJwk]);
      await mint(rsa);

      clock.advanceSeconds(MAX_JWKS_CACHE_SECONDS - 1);
      await mint(rsa);
      const fetchesWithin29Hours = sim.stats('org').jwksFetches;
      clock.advanceSeconds(1);
      await mint(rsa);

      expect(fetchesWithin29Hours).toBe(1);
      expect(sim.stats('org').jwksFetches).toBe(2);
    });

    it('caps a longer max-age at 29 hours', async () => {
      const rsa = await rsaPromise;
      const { clock, sim, mint } = await setup([rsa.publicJwk], 'max-age=999999');
      await mint(rsa);

      clock.advanceSeconds(MAX_JWKS_CACHE_SECONDS);
      await mint(rsa);

      expect(sim.stats('org').jwksFetches).toBe(2);
    });

    it('fetches on every assertion when the JWK Set says no-store', async () => {
      const rsa = await rsaPromise;
      const { sim, mint } = await setup([rsa.publicJwk], 'no-store');

      await mint(rsa);
      await mint(rsa);

      expect(sim.stats('org').jwksFetches).toBe(2);
    });
  });

  describe('when several assertions arrive while the cache is cold', () => {
    it('fetches the JWK Set once for all of them', async () => {
      const rsa = await rsaPromise;
      const { jwks, mint } = await setup([rsa.publicJwk]);

      const responses = await Promise.all([mint(rsa), mint(rsa), mint(rsa)]);

      expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
      expect(jwks.requests).toBe(1);
    });
  });

  describe('when the JWK Set cannot be used', () => {
    it('answers invalid_client when the JWK Set URL answers an error', async () => {
      const rsa = await rsaPromise;
      const { jwks, sim, mint } = await setup([rsa.publicJwk]);
      jwks.failWithStatus = 503;

      const response = await mint(rsa);

      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('org').rejections[0]?.reason).toMatch(/HTTP 503/);
    });

    it('answers invalid_client when nothing listens at the JWK Set URL', async () => {
      const rsa = await rsaPromise;
      const { jwks, sim, mint } = await setup([rsa.publicJwk]);
      await jwks.close();

      const response = await mint(rsa);

      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('org').rejections[0]?.reason).toMatch(/unreachable/);
    });

    it('answers invalid_client when the JWK’s alg differs from the header’s alg', async () => {
      const rsa = await rsaPromise;
      const { mint, sim } = await setup([{ ...rsa.publicJwk, alg: 'RS256' }]);

      const response = await mint(rsa);

      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('org').rejections[0]?.reason).toMatch(/JWK alg "RS256" differs/);
    });

    it('answers invalid_client when the JWK Set publishes private key material', async () => {
      const rsa = await rsaPromise;
      const privateJwk = rsa.privateKey.export({ format: 'jwk' }) as JWK;
      const { mint, sim } = await setup([{ ...privateJwk, kid: rsa.kid, alg: 'RS384', use: 'sig' }]);

      const response = await mint(rsa);

      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('org').rejections[0]?.reason).toMatch(/private key material/);
    });

    it('answers invalid_client for an ES384 assertion whose key is not on P-384', async () => {
      // Arrange: a P-256 key published as if it were an ES384 key
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const members = publicKey.export({ format: 'jwk' }) as JWK;
      const kid = await calculateJwkThumbprint(members);
      const key: TestKey = {
        kid,
        alg: 'ES384',
        privateKey,
        publicJwk: { ...members, kid, alg: 'ES384', use: 'sig' },
      };
      const { tokenUrl, sim } = await setup([key.publicJwk]);
      const assertion = manuallySigned({ alg: 'ES384', kid, typ: 'JWT' }, validClaims(tokenUrl), (input) =>
        createSign('SHA384').update(input).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' }),
      );

      // Act
      const response = await requestToken(tokenUrl, assertion);

      // Assert
      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('org').rejections[0]?.reason).toMatch(/does not fit ES384/);
    });

    it('answers invalid_client for an RSA key shorter than 2048 bits', async () => {
      // Arrange: jose refuses to sign with such a key, so sign by hand
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const members = publicKey.export({ format: 'jwk' }) as JWK;
      const kid = await calculateJwkThumbprint(members);
      const { tokenUrl, sim } = await setup([{ ...members, kid, alg: 'RS384', use: 'sig' }]);
      const assertion = manuallySigned({ alg: 'RS384', kid, typ: 'JWT' }, validClaims(tokenUrl), (input) =>
        createSign('RSA-SHA384').update(input).sign(privateKey),
      );

      // Act
      const response = await requestToken(tokenUrl, assertion);

      // Assert
      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('org').rejections[0]?.reason).toMatch(/2048/);
    });
  });
});

describe('cacheSeconds', () => {
  it.each([
    [null, MAX_JWKS_CACHE_SECONDS],
    ['public, max-age=3600', 3600],
    ['max-age=0', 0],
    ['no-cache', 0],
    ['public, no-store', 0],
    ['max-age=200000', MAX_JWKS_CACHE_SECONDS],
    ['max-age=abc', MAX_JWKS_CACHE_SECONDS],
  ])('reads %s as %i seconds', (header, seconds) => {
    expect(cacheSeconds(header)).toBe(seconds);
  });
});

describe('createEpicSimulator', () => {
  it('refuses a JWK Set URL off loopback, so nothing can reach the internet', async () => {
    await expect(
      createEpicSimulator({
        organizations: [
          { id: 'org', clients: [{ clientId: CLIENT_ID, jwksUrl: 'https://example.com/jwks' }] },
        ],
      }),
    ).rejects.toThrow(/loopback/);
  });
});

function manuallySigned(header: object, claims: object, sign: (input: string) => Buffer): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${sign(input).toString('base64url')}`;
}
