import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ReaderDependencies } from '../../functions/core/dependencies.js';
import type { SigningKeys } from '../../functions/core/keys/types.js';
import type { CachedToken, TokenStore } from '../../functions/core/tokens/types.js';
import { FakeClock } from '../helpers/fakes.js';
import { captureLogs, type LogCapture } from '../helpers/log-capture.js';
import { matrixRow } from './matrix.js';
import {
  assertRow,
  expectLogsCapturedWithoutSecrets,
  expectRowsAsserted,
  expectUsableToken,
  findSlotsBody,
  type Harness,
  SAFETY_MARGIN_MS,
  startHarness,
} from './support.js';

/** Log codes this file's rows produce: the positive control of the log check. */
const LOG_CODES = ['TOKEN_MINTED', 'FIND_SLOTS_COMPLETED'];

/** Counts writes to the runtime's real token store. */
function countingStore(counter: { writes: number }) {
  return (store: TokenStore): TokenStore => ({
    read: (tenant) => store.read(tenant),
    write: async (token: CachedToken) => {
      counter.writes++;
      await store.write(token);
    },
  });
}

/** Counts signatures made with the runtime's signing keys (the object the minter signs with). */
function countSignatures(keys: SigningKeys): { count: number } {
  const counter = { count: 0 };
  const sign = keys.sign.bind(keys);
  keys.sign = async (kid, signingInput) => {
    counter.count++;
    return sign(kid, signingInput);
  };
  return counter;
}

describe('resilience: concurrency', () => {
  let h: Harness | undefined;
  let logs: LogCapture | undefined;

  afterAll(() => {
    expectRowsAsserted(['Concurrency', 'Secrets']);
  });

  afterEach(async () => {
    await h?.close();
    logs?.restore();
    if (h && logs) {
      expectLogsCapturedWithoutSecrets(logs, h, LOG_CODES);
    }
    h = undefined;
    logs = undefined;
  });

  it('concurrency-200-one-mint: 200 concurrent find-slots over 20 containers on an empty cache mint once', async () => {
    const row = matrixRow('concurrency-200-one-mint');
    const store = { writes: 0 };
    logs = captureLogs();
    h = await startHarness({ wrapStore: countingStore(store) });
    const signatures = countSignatures(h.runtime.keys);
    const containers: ReaderDependencies[] = Array.from({ length: 20 }, () => h!.newContainer());
    const body = findSlotsBody(Date.now(), 'sandbox');

    const responses = await Promise.all(
      Array.from({ length: row.counts.requests! }, (_, i) => h!.findSlots(body, containers[i % 20])),
    );

    const stats = h.runtime.simulator!.stats('sandbox');
    const statuses = [...new Set(responses.map((r) => r.status))];
    assertRow(row.id, {
      status: statuses.length === 1 ? statuses[0] : statuses.join(', '),
      code: null,
      counts: {
        requests: stats.fhirRequests,
        epicTokenRequests: stats.tokenRequests,
        assertionsSigned: signatures.count,
        storeWrites: store.writes,
      },
    });
    expectUsableToken(await h.stored('sandbox'), 'sandbox', h.runtime.reader.clock);
  });

  it('concurrency-warmer-race: warmer runs racing readers across three token lifetimes never serve an expired token', async () => {
    const row = matrixRow('concurrency-warmer-race');
    const clock = new FakeClock(Date.now());
    const lifetimeSeconds = 600;
    logs = captureLogs();
    h = await startHarness({ clock, simulator: { tokenLifetimeSeconds: lifetimeSeconds } });
    const sim = h.runtime.simulator!;
    const containers = Array.from({ length: 3 }, () => h!.newContainer());
    const tenants = ['sandbox', 'sandbox-pbs'];
    let warmerMints = (await h.runtime.minter.warm()).refreshed;
    let expiredServed = 0;
    let findSlotsCalls = 0;
    const statuses = new Set<number>();

    // 3 lifetimes in 15 s steps; the warmer runs every 60 s, concurrently with the readers.
    for (let t = 15; t <= 3 * lifetimeSeconds; t += 15) {
      clock.advance(15_000);
      const work: Array<Promise<unknown>> = [];
      if (t % 60 === 0) work.push(h.runtime.minter.warm().then((s) => (warmerMints += s.refreshed)));
      for (const [i, deps] of containers.entries()) {
        const tenant = tenants[(t / 15 + i) % 2]!;
        findSlotsCalls++;
        work.push(h.findSlots(findSlotsBody(clock.now(), tenant), deps).then((r) => statuses.add(r.status)));
        work.push(
          h.refresh({ tenant }, deps).then((r) => {
            statuses.add(r.status);
            if (Date.parse(String(r.body.expires_at)) - clock.now() <= SAFETY_MARGIN_MS) expiredServed++;
          }),
        );
      }
      await Promise.all(work);
    }

    const tokenRequests = tenants.reduce((n, t) => n + sim.stats(t).tokenRequests, 0);
    const fhirRequests = tenants.reduce((n, t) => n + sim.stats(t).fhirRequests, 0);
    assertRow(row.id, {
      status: statuses.size === 1 ? [...statuses][0] : [...statuses].join(', '),
      code: null,
      counts: {
        expiredTokensServed: expiredServed,
        fhir401: fhirRequests - findSlotsCalls,
        requestPathMints: tokenRequests - warmerMints,
      },
    });
    // Each tenant was refreshed by the warmer every half lifetime or so: several tokens, all by it.
    expect(warmerMints).toBeGreaterThanOrEqual(2 * 5);
    for (const tenant of tenants) expectUsableToken(await h.stored(tenant), tenant, clock);
  });
});
