import type { Clock, Sleep } from '../clock.js';
import { EpicTimeoutError, EpicTokenRejectedError, EpicUnavailableError } from '../errors/app-error.js';
import {
  fetchText,
  networkErrorName,
  nextDelayMs,
  parseRetryAfterMs,
  ResponseTooLargeError,
  type RetryPolicy,
  TimeoutError,
} from '../http/retry.js';
import type { SigningKeys } from '../keys/types.js';
import type { AppLogger, AppMetrics } from '../observability/powertools.js';
import { METRIC } from '../observability/powertools.js';
import type { CachedToken } from '../tokens/types.js';
import { parseJsonOrUndefined } from '../values.js';
import { createClientAssertion } from './client-assertion.js';
import { tokenErrorHint } from './token-errors.js';

/**
 * Epic's token endpoint client: `client_credentials` with a JWT client assertion (EPIC.md).
 * Every attempt signs a fresh assertion (new jti, fresh iat/exp). 429 and 5xx are retried with
 * jitter, honouring Retry-After, inside a deadline; OAuth errors (HTTP 400/401) are not retried.
 */
export interface TokenClientDependencies {
  clientId: string;
  keys: SigningKeys;
  fetch: typeof fetch;
  clock: Clock;
  sleep: Sleep;
  random: () => number;
  logger: AppLogger;
  metrics: AppMetrics;
}

export interface TokenClientOptions {
  /** Per-request timeout, body included. */
  requestTimeoutMs: number;
  retry: RetryPolicy;
  /** Total time budget for all attempts of one mint. */
  budgetMs: number;
}

export const DEFAULT_TOKEN_CLIENT_OPTIONS: TokenClientOptions = {
  requestTimeoutMs: 5_000,
  retry: { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2_000 },
  // With discovery (<= 3 s) this stays inside the readers' 15 s minter invoke timeout.
  budgetMs: 10_000,
};

/** A retry is started only when at least this much of the budget is left for it. */
const MIN_ATTEMPT_MS = 1_000;

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface TokenRequest {
  tenant: string;
  tokenUrl: string;
  scope?: string;
}

type Attempt =
  | { kind: 'token'; token: CachedToken }
  | { kind: 'retry'; reason: string; retryAfterMs?: number; final: EpicUnavailableError | EpicTimeoutError };

/** Validates Epic's 200 body. Never includes the token in an error. */
export function parseTokenResponse(
  body: unknown,
  tenant: string,
  nowMs: number,
  kid: string,
): CachedToken | { problem: string } {
  if (typeof body !== 'object' || body === null) return { problem: 'the body is not a JSON object' };
  const b = body as Record<string, unknown>;
  if (typeof b.access_token !== 'string' || b.access_token.length === 0) {
    return { problem: 'access_token is missing or not a string' };
  }
  if (typeof b.token_type !== 'string' || b.token_type.toLowerCase() !== 'bearer') {
    return {
      problem: `token_type is ${JSON.stringify(typeof b.token_type === 'string' ? b.token_type : typeof b.token_type)}, expected "Bearer"`,
    };
  }
  const expiresIn =
    typeof b.expires_in === 'string' && /^\d+$/.test(b.expires_in) ? Number(b.expires_in) : b.expires_in;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    return { problem: 'expires_in is missing or not a positive number' };
  }
  if (b.scope !== undefined && typeof b.scope !== 'string') return { problem: 'scope is not a string' };
  return {
    tenant,
    access_token: b.access_token,
    token_type: b.token_type,
    ...(typeof b.scope === 'string' ? { scope: b.scope } : {}),
    expires_in: expiresIn,
    obtained_at: new Date(nowMs).toISOString(),
    expires_at: new Date(nowMs + expiresIn * 1000).toISOString(),
    kid,
  };
}

async function attemptOnce(
  request: TokenRequest,
  deps: TokenClientDependencies,
  timeoutMs: number,
): Promise<Attempt> {
  const { assertion, kid } = await createClientAssertion(deps.keys, {
    clientId: deps.clientId,
    tokenUrl: request.tokenUrl,
    nowMs: deps.clock.now(),
  });
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
  });
  if (request.scope) form.set('scope', request.scope);

  let response: Awaited<ReturnType<typeof fetchText>>;
  try {
    response = await fetchText(
      deps.fetch,
      request.tokenUrl,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: form.toString(),
      },
      timeoutMs,
    );
  } catch (error) {
    if (error instanceof ResponseTooLargeError) {
      throw new EpicUnavailableError(
        'epic_bad_response',
        `Epic's token endpoint for tenant "${request.tenant}" answered with a body over ${error.maxBytes} bytes.`,
        { details: { tenant: request.tenant, problem: 'response too large' } },
      );
    }
    const reason = networkErrorName(error);
    const final =
      error instanceof TimeoutError
        ? new EpicTimeoutError(`the token request for tenant "${request.tenant}"`, {
            tenant: request.tenant,
            timeoutMs,
          })
        : new EpicUnavailableError(
            'epic_unavailable',
            `Epic's token endpoint for tenant "${request.tenant}" could not be reached (${reason}).`,
            { details: { tenant: request.tenant, reason } },
          );
    return { kind: 'retry', reason, final };
  }

  const { status } = response;
  if (status === 200) {
    const parsed = parseTokenResponse(
      parseJsonOrUndefined(response.text),
      request.tenant,
      deps.clock.now(),
      kid,
    );
    if ('problem' in parsed) {
      throw new EpicUnavailableError(
        'epic_bad_response',
        `Epic's token endpoint for tenant "${request.tenant}" answered 200 with an unusable body: ${parsed.problem}.`,
        { details: { tenant: request.tenant, problem: parsed.problem } },
      );
    }
    return { kind: 'token', token: parsed };
  }
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), deps.clock.now());
    const code = status === 429 ? 'epic_rate_limited' : 'epic_unavailable';
    const final = new EpicUnavailableError(
      code,
      status === 429
        ? `Epic rate-limited token requests for tenant "${request.tenant}" (HTTP 429); retry later.`
        : `Epic's token endpoint for tenant "${request.tenant}" failed with HTTP ${status}.`,
      {
        details: {
          tenant: request.tenant,
          status,
          ...(retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) } : {}),
        },
      },
    );
    return { kind: 'retry', reason: `http_${status}`, retryAfterMs, final };
  }
  const body = parseJsonOrUndefined(response.text) as
    | { error?: unknown; error_description?: unknown }
    | undefined;
  const epicError = typeof body?.error === 'string' ? body.error.slice(0, 64) : `http_${status}`;
  const description =
    typeof body?.error_description === 'string' ? body.error_description.slice(0, 300) : undefined;
  deps.metrics.count(METRIC.epicTokenError, { epicError });
  throw new EpicTokenRejectedError(request.tenant, epicError, tokenErrorHint(epicError), description);
}

/**
 * Obtains a new access token for one tenant. Throws EpicTokenRejectedError (not retried),
 * EpicUnavailableError (`epic_unavailable`, `epic_rate_limited`, `epic_bad_response`) or
 * EpicTimeoutError after bounded retries.
 */
export async function requestAccessToken(
  request: TokenRequest,
  deps: TokenClientDependencies,
  options: TokenClientOptions = DEFAULT_TOKEN_CLIENT_OPTIONS,
): Promise<CachedToken> {
  const deadlineMs = deps.clock.now() + options.budgetMs;
  for (let attempt = 1; ; attempt++) {
    // Never let one attempt run past the budget: the minter's caller is waiting on it.
    const timeoutMs = Math.max(1, Math.min(options.requestTimeoutMs, deadlineMs - deps.clock.now()));
    const result = await attemptOnce(request, deps, timeoutMs);
    if (result.kind === 'token') {
      deps.logger.info('EPIC_TOKEN_OBTAINED', {
        tenant: request.tenant,
        attempt,
        expiresIn: result.token.expires_in,
        kid: result.token.kid,
      });
      return result.token;
    }
    const delay = nextDelayMs({
      attempt,
      policy: options.retry,
      random: deps.random,
      nowMs: deps.clock.now(),
      deadlineMs,
      retryAfterMs: result.retryAfterMs,
      minAttemptMs: MIN_ATTEMPT_MS,
    });
    deps.logger.warn('EPIC_TOKEN_ATTEMPT_FAILED', {
      tenant: request.tenant,
      attempt,
      reason: result.reason,
      willRetry: delay !== undefined,
    });
    if (delay === undefined) throw result.final;
    await deps.sleep(delay);
  }
}
