import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { Clock, Sleep } from '../clock.js';
import { AppError, DependencyError } from '../errors/app-error.js';
import { nextDelayMs, type RetryPolicy } from '../http/retry.js';
import type { AppLogger } from '../observability/powertools.js';
import { decodeMintResponse, type MinterEvent } from '../tokens/minter-protocol.js';
import {
  isRejected,
  isUsable,
  type MintRequest,
  type MintResult,
  type TokenMinter,
  type TokenStore,
} from '../tokens/types.js';

/**
 * Readers reach the minter Lambda with a synchronous invoke. The minter has reserved concurrency 1,
 * so a concurrent invoke is throttled: then this waits briefly, looks in the store (the running
 * mint is about to write there) and invokes again, a bounded number of times.
 */
export interface LambdaTokenMinterOptions {
  client: LambdaClient;
  functionName: string;
  store: TokenStore;
  clock: Clock;
  sleep: Sleep;
  random: () => number;
  logger: AppLogger;
  safetyMarginSeconds?: number;
  /**
   * How long to keep retrying throttled invokes (default 15 s): longer than the minter's slowest
   * busy spell, a warm run waiting on an unresponsive Epic for one group of tenants (10 s token
   * budget + 3 s discovery), and well inside API Gateway's 29 s.
   */
  throttleBudgetMs?: number;
}

/** Waits between throttled invokes: full jitter, 200 ms doubling up to 1.6 s, within the budget. */
const THROTTLE_RETRY: RetryPolicy = { maxAttempts: 50, baseDelayMs: 200, maxDelayMs: 1_600 };
const DEFAULT_THROTTLE_BUDGET_MS = 15_000;

const errorName = (e: unknown): string => (e as { name?: string })?.name ?? 'Error';

export class LambdaTokenMinter implements TokenMinter {
  constructor(private readonly options: LambdaTokenMinterOptions) {}

  async mint(request: MintRequest): Promise<MintResult> {
    const { client, functionName, logger } = this.options;
    const { clock, random } = this.options;
    const deadlineMs = clock.now() + (this.options.throttleBudgetMs ?? DEFAULT_THROTTLE_BUDGET_MS);
    const payload: MinterEvent = { action: 'mint', ...request };
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await client.send(
          new InvokeCommand({
            FunctionName: functionName,
            InvocationType: 'RequestResponse',
            Payload: Buffer.from(JSON.stringify(payload)),
          }),
        );
        if (out.FunctionError) {
          logger.error('MINTER_INVOKE_FAILED', { tenant: request.tenant, functionError: out.FunctionError });
          throw new DependencyError('token_unavailable', 'The token minter failed; see its logs.', {
            details: { tenant: request.tenant },
          });
        }
        return decodeMintResponse(
          JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8') || 'null'),
        );
      } catch (error) {
        if (error instanceof AppError) throw error;
        const name = errorName(error);
        const delay =
          name === 'TooManyRequestsException'
            ? nextDelayMs({
                attempt: attempt + 1,
                policy: THROTTLE_RETRY,
                random,
                nowMs: clock.now(),
                deadlineMs,
              })
            : undefined;
        if (delay === undefined) {
          logger.error('MINTER_INVOKE_FAILED', { tenant: request.tenant, errorName: name, attempt });
          throw new DependencyError(
            'token_unavailable',
            `No token could be obtained: invoking the token minter failed (${name}).`,
            {
              cause: error,
              details: { tenant: request.tenant, awsError: name },
            },
          );
        }
        // Another mint is running: it will write the store. Wait, then look there first.
        await this.options.sleep(delay);
        if (!request.force) {
          const stored = await this.options.store.read(request.tenant).catch(() => undefined);
          const marginMs = (this.options.safetyMarginSeconds ?? 60) * 1000;
          if (
            stored &&
            !isRejected(stored, request.rejectedTokenSha256) &&
            isUsable(stored, clock.now(), marginMs)
          ) {
            return { token: stored, minted: false };
          }
        }
      }
    }
  }
}
