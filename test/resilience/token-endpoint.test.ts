import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../functions/core/clock.js';
import type { CachedToken } from '../../functions/core/tokens/types.js';
import type { Fault } from '../../local/epic-simulator/index.js';
import { captureLogs, type LogCapture } from '../helpers/log-capture.js';
import {
  assertRow,
  expectLogsCapturedWithoutSecrets,
  expectRowsAsserted,
  expectUsableToken,
  type Harness,
  SLOW_ANSWER_MS,
  startHarness,
} from './support.js';

/** Log codes this file's rows produce: the positive control of the log check. */
const LOG_CODES = ['TOKEN_MINTED', 'TOKEN_MINT_FAILED', 'EPIC_TOKEN_ATTEMPT_FAILED', 'REQUEST_FAILED'];

/**
 * Epic's token endpoint misbehaves while a caller forces a refresh over a valid cached token: the
 * caller gets the exact status and code, the retries are bounded, and the cached token survives.
 */
const TENANT = 'sandbox-pbs';

describe('resilience: Epic token endpoint faults', () => {
  let h: Harness;
  let logs: LogCapture;
  let before: CachedToken;

  beforeAll(async () => {
    logs = captureLogs();
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
    logs.restore();
    expectLogsCapturedWithoutSecrets(logs, h, LOG_CODES);
    expectRowsAsserted(['Epic token endpoint', 'Secrets']);
  });

  beforeEach(async () => {
    const sim = h.runtime.simulator!;
    sim.setFault(TENANT, 'token', undefined);
    h.refuseTokenEndpoint = false;
    const ok = await h.refresh({ tenant: TENANT, force: true });
    expect(ok.status).toBe(200);
    before = expectUsableToken(await h.stored(TENANT), TENANT, systemClock);
    sim.resetStats();
    h.sleeps.length = 0;
  });

  async function forcedRefreshUnder(fault: Fault | undefined) {
    if (fault) h.runtime.simulator!.setFault(TENANT, 'token', fault);
    const attemptsBefore = h.tokenAttempts();
    const res = await h.refresh({ tenant: TENANT, force: true });
    h.runtime.simulator!.setFault(TENANT, 'token', undefined);
    return { res, attempts: h.tokenAttempts() - attemptsBefore, stats: h.runtime.simulator!.stats(TENANT) };
  }

  async function expectCachedTokenUnchanged() {
    const after = expectUsableToken(await h.stored(TENANT), TENANT, systemClock);
    expect(after).toEqual(before);
    // The reader's memory copy is the same token: a normal refresh hands it out without a mint.
    const again = await h.refresh({ tenant: TENANT });
    expect(again.body).toMatchObject({ access_token: before.access_token, refreshed: false });
  }

  it.each([
    ['token-500', { kind: 'status', status: 500 }],
    ['token-invalid-client', { kind: 'oauth-error', error: 'invalid_client' }],
    ['token-unauthorized-client', { kind: 'oauth-error', error: 'unauthorized_client' }],
    ['token-malformed-200', { kind: 'malformed' }],
    ['token-timeout', { kind: 'slow', delayMs: SLOW_ANSWER_MS }],
  ] as Array<[string, Fault]>)('%s: exact answer, bounded attempts, cached token kept', async (id, fault) => {
    const { res, stats } = await forcedRefreshUnder(fault);

    assertRow(id, {
      status: res.status,
      code: res.body.error as string,
      counts: { epicTokenRequests: stats.tokenRequests },
    });
    expect(res.headers['Cache-Control']).toBe('no-store');
    expect(stats.tokensIssued).toBe(0);
    expect(JSON.stringify(res.body)).not.toContain(before.access_token);
    await expectCachedTokenUnchanged();
  });

  it("token-invalid-client and token-unauthorized-client: the body carries Epic's error and a hint", async () => {
    const invalid = await forcedRefreshUnder({ kind: 'oauth-error', error: 'invalid_client' });
    const unauthorized = await forcedRefreshUnder({ kind: 'oauth-error', error: 'unauthorized_client' });

    expect(invalid.res.body.details).toMatchObject({
      epicError: 'invalid_client',
      hint: expect.stringMatching(/JWK Set URL/),
    });
    expect(unauthorized.res.body.details).toMatchObject({
      epicError: 'unauthorized_client',
      hint: expect.stringMatching(/mapped to an Epic user/),
    });
  });

  it('token-429-retry-after: waits at least Retry-After between attempts, then 502 with Retry-After', async () => {
    const { res, stats } = await forcedRefreshUnder({ kind: 'status', status: 429, retryAfterSeconds: 2 });

    assertRow('token-429-retry-after', {
      status: res.status,
      code: res.body.error as string,
      counts: {
        epicTokenRequests: stats.tokenRequests,
        waitsOfAtLeastRetryAfter: h.sleeps.filter((ms) => ms >= 2_000).length,
      },
    });
    expect(res.headers['Retry-After']).toBe('2');
    await expectCachedTokenUnchanged();
  });

  it('token-connection-refused: three connection attempts, 502 epic_unavailable', async () => {
    h.refuseTokenEndpoint = true;

    const { res, attempts, stats } = await forcedRefreshUnder(undefined);
    h.refuseTokenEndpoint = false;

    assertRow('token-connection-refused', {
      status: res.status,
      code: res.body.error as string,
      counts: { connectAttempts: attempts },
    });
    expect(stats.tokenRequests).toBe(0);
    expect(res.body.details).toMatchObject({ reason: 'ECONNREFUSED' });
    await expectCachedTokenUnchanged();
  });

  it('token-500-once: one retry succeeds and the new token replaces the old one', async () => {
    const { res, stats } = await forcedRefreshUnder({ kind: 'status', status: 500, times: 1 });

    assertRow('token-500-once', {
      status: res.status,
      code: (res.body.error as string | undefined) ?? null,
      counts: { epicTokenRequests: stats.tokenRequests },
    });
    expect(res.body).toMatchObject({ refreshed: true });
    const after = expectUsableToken(await h.stored(TENANT), TENANT, systemClock);
    expect(after.access_token).toBe(res.body.access_token);
    expect(after.access_token).not.toBe(before.access_token);
  });
});
