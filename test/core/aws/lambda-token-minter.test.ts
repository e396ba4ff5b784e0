import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LambdaTokenMinter } from '../../../functions/core/aws/lambda-token-minter.js';
import type { CachedToken } from '../../../functions/core/tokens/types.js';
import { FakeClock, MemoryLogger, MemoryTokenStore } from '../../helpers/fakes.js';

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
const blob = (text: string) => Buffer.from(text) as unknown as InvokeCommandOutput['Payload'];
const payload = (value: unknown) => ({ StatusCode: 200, Payload: blob(JSON.stringify(value)) });

function token(clock: FakeClock, access = 'access-token-abcdefghijklmnop'): CachedToken {
  return {
    tenant: 'a',
    access_token: access,
    token_type: 'Bearer',
    expires_in: 3600,
    obtained_at: new Date(clock.now()).toISOString(),
    expires_at: new Date(clock.now() + 3_600_000).toISOString(),
  };
}

describe('LambdaTokenMinter (readers invoking the minter Lambda)', () => {
  const client = new LambdaClient({
    region: 'eu-west-2',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
  });
  const lambda = mockClient(client);
  let clock: FakeClock;
  let store: MemoryTokenStore;
  let sleeps: number[];

  beforeEach(() => {
    lambda.reset();
    clock = new FakeClock(Date.parse('2026-12-04T10:00:00Z'));
    store = new MemoryTokenStore();
    sleeps = [];
  });

  const minter = () =>
    new LambdaTokenMinter({
      client,
      functionName: 'minter',
      store,
      clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.advance(ms);
      },
      random: () => 0.5,
      logger: new MemoryLogger(),
    });

  it('sends the mint request and returns the minter answer', async () => {
    const t = token(clock);
    lambda.on(InvokeCommand).resolves(payload({ ok: true, token: t, minted: true }));
    const result = await minter().mint({ tenant: 'a', force: false });
    expect(result).toEqual({ token: t, minted: true });
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString())).toEqual({
      action: 'mint',
      tenant: 'a',
      force: false,
    });
  });

  it('rethrows the minter error with its code (e.g. epic_token_rejected)', async () => {
    lambda.on(InvokeCommand).resolves(
      payload({
        ok: false,
        error: {
          error: 'epic_token_rejected',
          message: 'refused',
          details: { epicError: 'invalid_client' },
        },
      }),
    );
    await expect(minter().mint({ tenant: 'a', force: false })).rejects.toMatchObject({
      code: 'epic_token_rejected',
      details: { epicError: 'invalid_client' },
    });
  });

  it('turns a crashed minter (FunctionError) into token_unavailable', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: blob('{}') });
    await expect(minter().mint({ tenant: 'a', force: false })).rejects.toMatchObject({
      code: 'token_unavailable',
    });
  });

  describe('when the invoke is throttled (another mint is running)', () => {
    it('finds the token the running mint wrote and stops invoking', async () => {
      lambda.on(InvokeCommand).callsFake(async () => {
        await store.write(token(clock, 'written-by-the-running-mint-xyz'));
        throw throttled();
      });
      const result = await minter().mint({ tenant: 'a', force: false });
      expect(result).toMatchObject({
        minted: false,
        token: { access_token: 'written-by-the-running-mint-xyz' },
      });
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    });

    it('keeps trying for the throttle budget (15 s), then gives up with token_unavailable', async () => {
      lambda.on(InvokeCommand).rejects(throttled());
      await expect(minter().mint({ tenant: 'a', force: false })).rejects.toMatchObject({
        code: 'token_unavailable',
        details: { awsError: 'TooManyRequestsException' },
      });
      const waited = sleeps.reduce((a, b) => a + b, 0);
      expect(waited).toBeGreaterThan(15_000 - 1_600);
      expect(waited).toBeLessThanOrEqual(15_000);
      expect(sleeps.every((ms) => ms <= 1_600)).toBe(true);
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(sleeps.length + 1);
    });
  });
});
