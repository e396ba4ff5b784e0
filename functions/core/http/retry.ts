import type { Sleep } from '../clock.js';

/**
 * Bounded retries with full jitter, shared by every outbound call to Epic. Callers decide what is
 * retryable; this module only computes delays and enforces the attempt and time budget.
 */
export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** `Retry-After` as milliseconds (delta-seconds or HTTP-date), or undefined when absent/invalid. */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Full jitter: a uniform delay in [0, min(max, base * 2^(attempt-1))]. `attempt` starts at 1. */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * The delay before the next attempt, or undefined when no attempt may be made: attempts are used
 * up, or waiting (at least `Retry-After` when Epic sent one) would overrun the deadline.
 */
export function nextDelayMs(options: {
  attempt: number;
  policy: RetryPolicy;
  random: () => number;
  nowMs: number;
  deadlineMs: number;
  retryAfterMs?: number;
  /** Time the next attempt needs at least, so it is not started without a chance to finish. */
  minAttemptMs?: number;
}): number | undefined {
  const { attempt, policy, random, nowMs, deadlineMs } = options;
  if (attempt >= policy.maxAttempts) return undefined;
  const jitter = backoffDelayMs(attempt, policy, random);
  const delay = options.retryAfterMs !== undefined ? Math.max(options.retryAfterMs, jitter) : jitter;
  if (nowMs + delay + (options.minAttemptMs ?? 0) > deadlineMs) return undefined;
  return delay;
}

export class TimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** An answer larger than the caller allows; reading stopped there, so memory stays bounded. */
export class ResponseTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the response body is larger than ${maxBytes} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

/** Bodies larger than this are refused (a $find Bundle for a month of slots is far smaller). */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new ResponseTooLargeError(maxBytes);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new ResponseTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * fetch with a per-request timeout that also covers reading the body, and a cap on the body size.
 * Resolves to the status, headers and body text; rejects with TimeoutError on timeout,
 * ResponseTooLargeError past `maxBytes`, or the network error otherwise.
 */
export async function fetchText(
  fetchFn: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  maxBytes = DEFAULT_MAX_RESPONSE_BYTES,
): Promise<{ status: number; headers: Headers; text: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TimeoutError(timeoutMs)), timeoutMs);
  try {
    const response = await fetchFn(url, { ...init, signal: controller.signal });
    const text = await readBounded(response, maxBytes);
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (controller.signal.aborted) throw new TimeoutError(timeoutMs);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** A short, safe description of a network error (no URLs with secrets exist here, but no bodies either). */
export function networkErrorName(error: unknown): string {
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof ResponseTooLargeError) return 'response_too_large';
  const cause = (error as { cause?: { code?: unknown } })?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  return error instanceof Error ? error.name : 'unknown';
}

export type { Sleep };
