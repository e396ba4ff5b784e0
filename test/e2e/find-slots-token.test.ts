import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Fault } from '../../local/epic-simulator/faults.js';
import { createLocalRuntime, type LocalRuntime } from '../../local/runtime/app.js';
import { FakeClock, MemoryLogger } from '../helpers/fakes.js';

/**
 * `POST /epic/find-slots` when no Epic token can be obtained: the local runtime and the embedded
 * simulator, with the token endpoint faulted before any token was minted. API.md: "503 no token
 * obtainable", whatever made the token path fail.
 */
const NOW = Date.parse('2026-12-04T15:00:00Z');
const REQUEST = {
  tenant: 'sandbox',
  start: '2026-12-07T00:00:00Z',
  end: '2026-12-12T00:00:00Z',
  serviceType: { code: '95014' },
};

describe('POST /epic/find-slots when no token is obtainable', () => {
  let runtime: LocalRuntime;

  async function findSlots(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${runtime.url}/epic/find-slots`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(REQUEST),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  beforeAll(async () => {
    runtime = await createLocalRuntime({
      stateDir: await mkdtemp(join(tmpdir(), 'e2e-find-slots-token-')),
      clock: new FakeClock(NOW),
      sleep: async () => {},
      random: () => 0.5,
      logger: new MemoryLogger(),
    });
  });

  afterAll(async () => {
    await runtime.close();
  });

  afterEach(() => {
    runtime.simulator!.setFault('sandbox', 'token', undefined);
  });

  it('answers 503 token_unavailable with Epic error and hint when Epic refuses the assertion', async () => {
    runtime.simulator!.setFault('sandbox', 'token', { kind: 'oauth-error', error: 'invalid_client' });

    const answer = await findSlots();

    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      error: 'token_unavailable',
      details: { tenant: 'sandbox', reason: 'epic_token_rejected', epicError: 'invalid_client' },
    });
    expect(answer.body.message).toContain('No Epic access token could be obtained for tenant "sandbox"');
    expect(answer.body.message).toContain('JWK Set URL');
    expect(runtime.simulator!.stats('sandbox').fhirRequests).toBe(0);
  });

  it.each<[string, Fault, string]>([
    ['answers 503 to the token request', { kind: 'status', status: 503 }, 'epic_unavailable'],
    ['drops the connection', { kind: 'drop' }, 'epic_unavailable'],
  ])('answers 503 token_unavailable when Epic %s', async (_label, fault, reason) => {
    runtime.simulator!.setFault('sandbox', 'token', fault);

    const answer = await findSlots();

    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: 'token_unavailable', details: { tenant: 'sandbox', reason } });
  });
});
