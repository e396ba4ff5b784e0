import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEpicSimulator,
  DEFAULT_GRANTED_SCOPE,
  type EpicSimulator,
} from '../../../local/epic-simulator/index.js';
import {
  CLIENT_ID,
  FrozenClock,
  generateTestKey,
  type JwksServer,
  requestToken,
  signAssertion,
  startJwksServer,
  T0_SECONDS,
  type TestKey,
  unsignedAssertion,
  validClaims,
} from './support.js';

describe('the simulated Epic token endpoint', () => {
  const clock = new FrozenClock();
  let rsa: TestKey;
  let ec: TestKey;
  let stranger: TestKey;
  let jwks: JwksServer;
  let sim: EpicSimulator;
  let tokenUrl: string;

  beforeAll(async () => {
    [rsa, ec, stranger] = await Promise.all([
      generateTestKey('RS384'),
      generateTestKey('ES384'),
      generateTestKey(),
    ]);
    jwks = await startJwksServer([rsa.publicJwk, ec.publicJwk]);
    sim = await createEpicSimulator({
      clock,
      organizations: [
        { id: 'sandbox', clients: [{ clientId: CLIENT_ID, jwksUrl: jwks.url }] },
        { id: 'unmapped', clients: [{ clientId: CLIENT_ID, jwksUrl: jwks.url, mappedToUser: false }] },
      ],
    });
    tokenUrl = sim.endpoints('sandbox').tokenUrl;
  });

  afterAll(async () => {
    await sim.close();
    await jwks.close();
  });

  beforeEach(() => {
    clock.reset();
    sim.resetStats();
  });

  describe('when the assertion is valid', () => {
    it('issues an opaque Bearer token for an RS384 assertion, not to be cached', async () => {
      // Arrange
      const assertion = await signAssertion(rsa, validClaims(tokenUrl));

      // Act
      const response = await requestToken(tokenUrl, assertion);

      // Assert
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.body).toEqual({
        access_token: expect.stringMatching(/^[A-Za-z0-9_-]{32,}$/),
        token_type: 'Bearer',
        expires_in: 3600,
        scope: DEFAULT_GRANTED_SCOPE,
      });
      expect(sim.stats('sandbox')).toMatchObject({ tokenRequests: 1, tokensIssued: 1, rejections: [] });
    });

    it('issues a token for an ES384 assertion', async () => {
      const assertion = await signAssertion(ec, validClaims(tokenUrl));

      const response = await requestToken(tokenUrl, assertion);

      expect(response.status).toBe(200);
      expect(response.body.token_type).toBe('Bearer');
    });

    it('grants the requested scope when the request names one', async () => {
      const assertion = await signAssertion(rsa, validClaims(tokenUrl));

      const response = await requestToken(tokenUrl, assertion, { scope: 'system/Practitioner.rs' });

      expect(response.body.scope).toBe('system/Practitioner.rs');
    });

    it('accepts exp exactly 300 seconds after iat and no iat at all', async () => {
      const claims = { ...validClaims(tokenUrl), exp: T0_SECONDS + 300 };
      delete claims.iat;
      const assertion = await signAssertion(rsa, claims);

      const response = await requestToken(tokenUrl, assertion);

      expect(response.status).toBe(200);
    });

    it('accepts a jti of exactly 151 characters', async () => {
      const claims = { ...validClaims(tokenUrl), jti: 'j'.repeat(151) };
      const assertion = await signAssertion(rsa, claims);

      const response = await requestToken(tokenUrl, assertion);

      expect(response.status).toBe(200);
    });

    it('answers with the lifetime set for the organization', async () => {
      sim.setTokenLifetime('sandbox', 900);
      const assertion = await signAssertion(rsa, validClaims(tokenUrl));

      const response = await requestToken(tokenUrl, assertion);
      sim.setTokenLifetime('sandbox', 3600);

      expect(response.body.expires_in).toBe(900);
    });

    it('issues a different token on every request', async () => {
      const first = await requestToken(tokenUrl, await signAssertion(rsa, validClaims(tokenUrl)));
      const second = await requestToken(tokenUrl, await signAssertion(rsa, validClaims(tokenUrl)));

      expect(first.body.access_token).not.toBe(second.body.access_token);
    });
  });

  describe('when the client is not mapped to an Epic user', () => {
    it('answers unauthorized_client', async () => {
      const unmappedUrl = sim.endpoints('unmapped').tokenUrl;
      const assertion = await signAssertion(rsa, validClaims(unmappedUrl));

      const response = await requestToken(unmappedUrl, assertion);

      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: 'unauthorized_client' });
      expect(sim.stats('unmapped').tokensIssued).toBe(0);
    });
  });

  describe('when the request itself is malformed', () => {
    const cases: Array<[string, () => Promise<Response>]> = [
      [
        'the body is JSON instead of a form',
        async () =>
          fetch(tokenUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ grant_type: 'client_credentials' }),
          }),
      ],
      ['grant_type is missing', async () => post({ grant_type: undefined })],
      ['grant_type is not client_credentials', async () => post({ grant_type: 'authorization_code' })],
      ['client_assertion_type is wrong', async () => post({ client_assertion_type: 'jwt' })],
      ['client_assertion is missing', async () => post({ client_assertion: undefined })],
      [
        'a parameter is repeated',
        async () =>
          fetch(tokenUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `${formOf({})}&grant_type=client_credentials`,
          }),
      ],
    ];

    function formOf(fields: Record<string, string | undefined>): string {
      const form = {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: 'x.y.z',
        ...fields,
      };
      const entries = Object.entries(form).filter(
        (entry): entry is [string, string] => entry[1] !== undefined,
      );
      return new URLSearchParams(entries).toString();
    }

    function post(fields: Record<string, string | undefined>): Promise<Response> {
      return fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: formOf(fields),
      });
    }

    it.each(cases)('answers 400 invalid_request when %s', async (_name, send) => {
      const response = await send();

      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: 'invalid_request' });
      expect(sim.stats('sandbox').rejections).toEqual([
        { error: 'invalid_request', reason: expect.any(String) },
      ]);
    });
  });

  describe('when the assertion breaks one of Epic’s rules', () => {
    const hs256 = async () =>
      new SignJWT(validClaims(tokenUrl))
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid, typ: 'JWT' })
        .sign(new TextEncoder().encode('a-shared-secret-that-epic-never-accepts'));
    /** Valid claims with `overrides`; "TOKEN_URL" in a string stands for this org's token URL. */
    const withClaims = (overrides: Record<string, unknown>) => async () => {
      const resolved = JSON.parse(JSON.stringify(overrides).replaceAll('TOKEN_URL', tokenUrl)) as object;
      return signAssertion(rsa, { ...validClaims(tokenUrl), ...resolved });
    };
    const withoutClaim = (name: string) => async () => {
      const claims: Record<string, unknown> = validClaims(tokenUrl);
      delete claims[name];
      return signAssertion(rsa, claims);
    };

    const cases: Array<[string, () => Promise<string>, RegExp]> = [
      ['it is not a compact JWS', async () => 'not-a-jwt', /not a compact JWS/],
      [
        'alg is PS384',
        async () => signAssertion(rsa, validClaims(tokenUrl), { alg: 'PS384' }),
        /alg "PS384"/,
      ],
      [
        'alg is RS256',
        async () => signAssertion(rsa, validClaims(tokenUrl), { alg: 'RS256' }),
        /alg "RS256"/,
      ],
      ['alg is HS256', hs256, /alg "HS256"/],
      [
        'alg is none',
        async () => unsignedAssertion({ alg: 'none', kid: rsa.kid, typ: 'JWT' }, validClaims(tokenUrl)),
        /alg "none"/,
      ],
      [
        'kid is missing',
        async () => signAssertion(rsa, validClaims(tokenUrl), { kid: undefined }),
        /kid missing/,
      ],
      ['typ is not JWT', async () => signAssertion(rsa, validClaims(tokenUrl), { typ: 'at+jwt' }), /typ/],
      [
        'typ is missing',
        async () => signAssertion(rsa, validClaims(tokenUrl), { typ: undefined }),
        /typ missing/,
      ],
      ['sub differs from iss', withClaims({ sub: 'someone-else' }), /sub must equal iss/],
      [
        'iss is an unknown client id',
        withClaims({ iss: 'unknown-client', sub: 'unknown-client' }),
        /unknown client/,
      ],
      ['aud has a trailing slash', withClaims({ aud: 'TOKEN_URL/' }), /aud must be exactly/],
      ['aud is an array', withClaims({ aud: ['TOKEN_URL'] }), /aud must be exactly/],
      [
        'aud is another organization’s token URL',
        async () => signAssertion(rsa, validClaims(sim.endpoints('unmapped').tokenUrl)),
        /aud must be exactly/,
      ],
      ['exp is missing', withoutClaim('exp'), /exp missing/],
      ['exp is not an integer', withClaims({ exp: T0_SECONDS + 240.5 }), /exp is not an integer/],
      ['exp is a string', withClaims({ exp: String(T0_SECONDS + 240) }), /exp is not an integer/],
      ['exp is in the past', withClaims({ iat: T0_SECONDS - 100, exp: T0_SECONDS - 1 }), /expired/],
      [
        'exp is the current second (already past)',
        withClaims({ iat: T0_SECONDS - 100, exp: T0_SECONDS }),
        /expired/,
      ],
      [
        'exp is more than 5 minutes ahead',
        withClaims({ iat: undefined, exp: T0_SECONDS + 301 }),
        /more than 5 minutes/,
      ],
      ['iat is in the future', withClaims({ iat: T0_SECONDS + 1 }), /iat is in the future/],
      ['nbf is in the future', withClaims({ nbf: T0_SECONDS + 1 }), /nbf is in the future/],
      [
        'exp - iat is more than 300 seconds',
        withClaims({ iat: T0_SECONDS - 100, exp: T0_SECONDS + 250 }),
        /exp - iat/,
      ],
      ['jti is missing', withoutClaim('jti'), /jti missing/],
      ['jti is not a string', withClaims({ jti: 12345 }), /jti missing or not a string/],
      ['jti is longer than 151 characters', withClaims({ jti: 'j'.repeat(152) }), /longer than 151/],
      [
        'jku is not the registered JWK Set URL',
        async () => signAssertion(rsa, validClaims(tokenUrl), { jku: 'http://127.0.0.1:9/other-jwks' }),
        /jku/,
      ],
      [
        'the signature is not made by the key of its kid',
        async () => signAssertion(stranger, validClaims(tokenUrl), { kid: rsa.kid }),
        /signature does not verify/,
      ],
    ];

    it.each(cases)('answers 400 invalid_client when %s', async (_name, build, reason) => {
      // Arrange
      const assertion = await build();

      // Act
      const response = await requestToken(tokenUrl, assertion);

      // Assert
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(response.headers.get('cache-control')).toBe('no-store');
      const { rejections, tokensIssued } = sim.stats('sandbox');
      expect(tokensIssued).toBe(0);
      expect(rejections).toHaveLength(1);
      expect(rejections[0]?.error).toBe('invalid_client');
      expect(rejections[0]?.reason).toMatch(reason);
      expect(response.headers.get('x-epic-simulator-reason')).toBe(rejections[0]?.reason);
      console.log(_name, '=>', rejections[0]?.reason);
      expect(rejections[0]?.reason).not.toContain(assertion);
      expect(rejections[0]?.reason).not.toContain(assertion.split('.')[1]);
    });

    it('answers invalid_client when the jti was already used', async () => {
      // Arrange
      const claims = validClaims(tokenUrl);
      const first = await requestToken(tokenUrl, await signAssertion(rsa, claims));

      // Act
      const replay = await requestToken(
        tokenUrl,
        await signAssertion(rsa, { ...claims, iat: T0_SECONDS - 1 }),
      );

      // Assert
      expect(first.status).toBe(200);
      expect(replay.status).toBe(400);
      expect(replay.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('sandbox').rejections).toEqual([
        { error: 'invalid_client', reason: expect.stringMatching(/jti/) },
      ]);
    });

    it('accepts only one of two concurrent requests that share a jti', async () => {
      const claims = validClaims(tokenUrl);
      const [first, second] = [
        await signAssertion(rsa, claims),
        await signAssertion(rsa, { ...claims, iat: T0_SECONDS - 1 }),
      ];

      const responses = await Promise.all([requestToken(tokenUrl, first), requestToken(tokenUrl, second)]);

      expect(responses.map((response) => response.status).sort()).toEqual([200, 400]);
      expect(sim.stats('sandbox').tokensIssued).toBe(1);
    });

    it('lets a jti be used again after an assertion with a bad signature carried it', async () => {
      const claims = validClaims(tokenUrl);
      const forged = await requestToken(tokenUrl, await signAssertion(stranger, claims, { kid: rsa.kid }));

      const genuine = await requestToken(tokenUrl, await signAssertion(rsa, claims));

      expect(forged.status).toBe(400);
      expect(genuine.status).toBe(200);
    });

    it('answers invalid_client when the form client_id is not the assertion’s iss', async () => {
      const assertion = await signAssertion(rsa, validClaims(tokenUrl));

      const response = await requestToken(tokenUrl, assertion, { client_id: 'someone-else' });

      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('sandbox').rejections[0]?.reason).toMatch(/client_id differs/);
    });

    it('accepts a form client_id equal to iss', async () => {
      const assertion = await signAssertion(rsa, validClaims(tokenUrl));

      const response = await requestToken(tokenUrl, assertion, { client_id: CLIENT_ID });

      expect(response.status).toBe(200);
    });

    it('judges time on the injected clock, not the wall clock', async () => {
      // Arrange: an assertion valid now, presented 241 seconds later
      const assertion = await signAssertion(rsa, validClaims(tokenUrl));
      clock.advanceSeconds(241);

      // Act
      const response = await requestToken(tokenUrl, assertion);

      // Assert
      expect(response.body).toEqual({ error: 'invalid_client' });
      expect(sim.stats('sandbox').rejections[0]?.reason).toMatch(/expired/);
    });
  });
});
