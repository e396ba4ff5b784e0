import type { ReaderDependencies } from '../dependencies.js';
import { AppError, EpicTimeoutError, EpicUnavailableError } from '../errors/app-error.js';
import { HTTP_STATUS_BY_CODE } from '../errors/http-status.js';
import { fetchText, networkErrorName, nextDelayMs, parseRetryAfterMs, TimeoutError } from '../http/retry.js';
import { isJsonObject } from '../values.js';

/**
 * A small FHIR client for Epic, shared by find-slots and preflight.
 *
 * - Sends `Authorization: Bearer <token>` (from the injected TokenProvider), `Epic-Client-ID`, and
 *   `Accept` / `Content-Type: application/fhir+json`.
 * - Each attempt has its own timeout (AbortSignal); all attempts share one total deadline, so a
 *   call never outlives API Gateway's integration timeout.
 * - 429, 5xx, timeouts and connection failures are retried a bounded number of times with full
 *   jitter, honouring `Retry-After` when it fits in the deadline (policy from `http/retry.ts`).
 * - 401: the rejected token is invalidated (only if it is still the cached one), one fresh token is
 *   obtained and the request is retried once; a second 401 is `epic_token_revoked` (502).
 * - 403: `epic_api_not_enabled` (502) naming the Epic API, e.g. "Practitioner.Search (R4)".
 * - A body that is not JSON, not a FHIR resource, or not of an expected type: `epic_bad_response`.
 * - Other 4xx: `epic_fhir_error` (502) with Epic's OperationOutcome summarized.
 *
 * Nothing it logs or throws contains the access token, the Authorization header, a request body or
 * a response body (any of which may hold patient data). Error details carry OperationOutcome codes
 * and severity only; Epic's text reaches a message only for codes whose text is fixed (see
 * FIXED_TEXT_EPIC_CODES), truncated.
 */

/** The subset of ReaderDependencies the client needs. */
export type FhirClientDependencies = Pick<
  ReaderDependencies,
  'clientId' | 'tokens' | 'fetch' | 'clock' | 'sleep' | 'random' | 'logger' | 'metrics'
>;

/** Timing and retry policy. Defaults fit inside API Gateway's 29 s integration timeout. */
export interface FhirClientPolicy {
  /** Timeout of one HTTP attempt (headers and body), in ms. */
  requestTimeoutMs: number;
  /** Attempts for transient failures (429, 5xx, timeout, connection error), first one included. */
  maxAttempts: number;
  /** Full-jitter backoff: the n-th retry waits random() * min(maxBackoffMs, baseBackoffMs * 2^n). */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Default total budget of one `request` call when the caller gives no deadline, in ms. */
  totalBudgetMs: number;
  /** Responses larger than this are refused as `epic_bad_response`. */
  maxResponseBytes: number;
}

export const DEFAULT_FHIR_CLIENT_POLICY: Readonly<FhirClientPolicy> = {
  requestTimeoutMs: 10_000,
  maxAttempts: 3,
  baseBackoffMs: 250,
  maxBackoffMs: 2_000,
  totalBudgetMs: 24_000,
  maxResponseBytes: 5 * 1024 * 1024,
};

/** A FHIR resource as JSON: only `resourceType` is guaranteed by the client. */
export interface FhirResource {
  resourceType: string;
  [key: string]: unknown;
}

export interface FhirRequest {
  /** Tenant id, for the token and for error details. */
  tenant: string;
  /** The Epic API name as an analyst sees it in the app's API list, e.g. "Appointment.$find (STU3)". */
  api: string;
  method: 'GET' | 'POST';
  /** Absolute URL. */
  url: string;
  /** JSON body for POST (a FHIR resource). */
  body?: unknown;
  /** Resource types accepted in a 2xx answer, e.g. ["Bundle"]. */
  expect: readonly string[];
  /** Non-2xx statuses handed back to the caller instead of thrown (e.g. 404 on a read). */
  acceptStatuses?: readonly number[];
  /** Absolute deadline (epoch ms, by deps.clock) shared by all attempts; default now + totalBudgetMs. */
  deadline?: number;
}

export interface FhirResponse<T extends FhirResource = FhirResource> {
  status: number;
  /** The parsed resource; for an accepted non-2xx status it may be undefined (no FHIR body). */
  resource: T | undefined;
  /** Attempts made, retries and the 401 retry included. */
  attempts: number;
}

/**
 * The OperationOutcome issues of an Epic answer, safe to return and log: codes, and Epic's text only
 * for codes whose text is a fixed Epic message (free text can echo patient details).
 */
export interface OutcomeSummary {
  severity?: string;
  code?: string;
  epicCodes: string[];
  /** Epic's text (truncated), kept only for an issue carrying one of FIXED_TEXT_EPIC_CODES. */
  text?: string;
}

/**
 * Epic codes whose issue text is Epic's fixed message for the code (no results, visit type not
 * determined, provider template problem, parameter ignored, referenced resource not found). Any
 * other issue's text is dropped: Epic's free text can echo what was sent, patient details included.
 */
export const FIXED_TEXT_EPIC_CODES: ReadonlySet<string> = new Set([
  '4101',
  '59200',
  '59134',
  '59109',
  '59144',
]);

export const FHIR_METRIC = {
  request: 'EpicFhirRequest',
  retry: 'EpicFhirRetry',
  unauthorized: 'EpicFhirUnauthorized',
} as const;

const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
/** Below this much time left there is no point in starting an attempt. */
const MIN_ATTEMPT_MS = 50;
const MAX_TEXT = 300;

type AttemptOutcome =
  | { kind: 'response'; status: number; headers: Headers; text: string }
  | { kind: 'timeout' }
  | { kind: 'network'; errorName: string };

/** Summarizes an OperationOutcome's issues: codes and severity, Epic's text only for fixed-text codes. */
export function summarizeOutcome(resource: unknown): OutcomeSummary[] {
  if (!isJsonObject(resource) || resource.resourceType !== 'OperationOutcome') return [];
  const issues = Array.isArray(resource.issue) ? resource.issue : [];
  return issues.filter(isJsonObject).map((issue) => {
    const details = isJsonObject(issue.details) ? issue.details : {};
    const coding = Array.isArray(details.coding) ? details.coding.filter(isJsonObject) : [];
    const epicCodes = coding.map((c) => c.code).filter((c): c is string => typeof c === 'string');
    const rawText =
      typeof details.text === 'string'
        ? details.text
        : typeof issue.diagnostics === 'string'
          ? issue.diagnostics
          : undefined;
    const summary: OutcomeSummary = { epicCodes };
    if (typeof issue.severity === 'string') summary.severity = issue.severity;
    if (typeof issue.code === 'string') summary.code = issue.code;
    if (rawText !== undefined && epicCodes.some((c) => FIXED_TEXT_EPIC_CODES.has(c))) {
      summary.text = rawText.slice(0, MAX_TEXT);
    }
    return summary;
  });
}

function tokenUnavailable(tenant: string, error: unknown): AppError {
  const reason = error instanceof AppError ? error.code : 'internal_error';
  const details = error instanceof AppError ? error.details : {};
  const epicError = typeof details.epicError === 'string' ? details.epicError : undefined;
  const hint = typeof details.hint === 'string' ? details.hint : undefined;
  const why = epicError ? `${reason} (Epic said ${epicError})` : reason;
  return new AppError(
    'token_unavailable',
    `No Epic access token could be obtained for tenant "${tenant}": ${why}. ` +
      (hint ?? 'Retry later; if it persists, run the preflight for this tenant.'),
    {
      cause: error,
      details: { tenant, reason, ...(epicError ? { epicError } : {}), ...(hint ? { hint } : {}) },
    },
  );
}

/** The path of a URL without its query (queries can carry search values; never logged). */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid url)';
  }
}

/**
 * Epic FHIR client. One instance per container is fine: it holds no per-request state.
 *
 * @example
 * const client = new FhirClient(deps);
 * const { resource } = await client.request({
 *   tenant: 'sandbox', api: 'Practitioner.Search (R4)', method: 'GET',
 *   url: `${tenant.fhirBaseUrl}/Practitioner?family=Smith`, expect: ['Bundle'],
 * });
 */
export class FhirClient {
  readonly policy: FhirClientPolicy;

  constructor(
    private readonly deps: FhirClientDependencies,
    policy: Partial<FhirClientPolicy> = {},
  ) {
    this.policy = { ...DEFAULT_FHIR_CLIENT_POLICY, ...policy };
  }

  /**
   * Sends one FHIR request with the retry, 401 and deadline rules above.
   *
   * @throws AppError `epic_token_revoked`, `epic_api_not_enabled`, `epic_fhir_error`,
   *   `epic_bad_response`, `epic_unavailable`, `epic_rate_limited` (502), `epic_timeout` (504), and
   *   `token_unavailable` (503) when no token can be obtained, and the 4xx the TokenProvider throws
   *   (`unknown_tenant`, `refresh_rate_limited`).
   */
  async request<T extends FhirResource = FhirResource>(req: FhirRequest): Promise<FhirResponse<T>> {
    const { clock, tokens } = this.deps;
    const deadline = req.deadline ?? clock.now() + this.policy.totalBudgetMs;
    let token = await this.token(req.tenant);
    let transientFailures = 0;
    let retriedUnauthorized = false;
    let attempts = 0;

    for (;;) {
      const remaining = deadline - clock.now();
      if (remaining < MIN_ATTEMPT_MS) throw this.timeoutError(req, attempts);
      attempts += 1;
      const started = clock.now();
      const outcome = await this.attempt(req, token, Math.min(this.policy.requestTimeoutMs, remaining));
      const status = outcome.kind === 'response' ? outcome.status : outcome.kind;
      this.deps.logger.info('EPIC_FHIR_RESPONSE', {
        tenant: req.tenant,
        api: req.api,
        method: req.method,
        path: pathOf(req.url),
        status,
        attempt: attempts,
        durationMs: clock.now() - started,
      });
      this.deps.metrics.count(FHIR_METRIC.request, {
        api: req.api,
        outcome: outcome.kind === 'response' ? `${Math.floor(outcome.status / 100)}xx` : outcome.kind,
      });

      if (outcome.kind === 'response' && outcome.status === 401) {
        tokens.invalidate(req.tenant, token);
        this.deps.metrics.count(FHIR_METRIC.unauthorized, { api: req.api });
        if (retriedUnauthorized) {
          throw new AppError(
            'epic_token_revoked',
            `Epic rejected a freshly obtained access token for ${req.api} (HTTP 401 twice). ` +
              'The token may have been revoked or the client de-authorized; check the app is still ' +
              `active for client id ${this.deps.clientId} in tenant "${req.tenant}".`,
            { details: { tenant: req.tenant, api: req.api, status: 401 } },
          );
        }
        retriedUnauthorized = true;
        token = await this.token(req.tenant);
        continue;
      }

      const transient =
        outcome.kind !== 'response' || RETRYABLE_STATUSES.has(outcome.status) ? outcome : undefined;
      if (transient) {
        transientFailures += 1;
        const delay = nextDelayMs({
          attempt: transientFailures,
          policy: {
            maxAttempts: this.policy.maxAttempts,
            baseDelayMs: this.policy.baseBackoffMs,
            maxDelayMs: this.policy.maxBackoffMs,
          },
          random: this.deps.random,
          nowMs: clock.now(),
          deadlineMs: deadline,
          minAttemptMs: MIN_ATTEMPT_MS,
          ...(transient.kind === 'response'
            ? { retryAfterMs: parseRetryAfterMs(transient.headers.get('retry-after'), clock.now()) }
            : {}),
        });
        if (delay === undefined) throw this.transientError(req, transient, attempts);
        this.deps.metrics.count(FHIR_METRIC.retry, { api: req.api });
        this.deps.logger.warn('EPIC_FHIR_RETRY', {
          tenant: req.tenant,
          api: req.api,
          status,
          attempt: attempts,
          delayMs: delay,
        });
        await this.deps.sleep(delay);
        continue;
      }

      // A final HTTP answer (outcome.kind === 'response', not 401, not transient).
      const response = outcome as Extract<AttemptOutcome, { kind: 'response' }>;
      return this.finish<T>(req, response, attempts);
    }
  }

  /**
   * The tenant's access token. A caller-facing 4xx from the token path (`unknown_tenant`,
   * `refresh_rate_limited`) passes through; every server-side failure (Epic refused the assertion,
   * Epic or an AWS dependency unavailable or slow, anything unexpected) becomes 503
   * `token_unavailable`, the status API.md promises when no token is obtainable, with the original
   * code in `details.reason` and Epic's OAuth error and hint when there are any.
   */
  private async token(tenant: string): Promise<string> {
    try {
      return (await this.deps.tokens.getToken(tenant)).token.access_token;
    } catch (error) {
      if (error instanceof AppError && (HTTP_STATUS_BY_CODE[error.code] ?? 500) < 500) throw error;
      throw tokenUnavailable(tenant, error);
    }
  }

  private async attempt(req: FhirRequest, token: string, timeoutMs: number): Promise<AttemptOutcome> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      'Epic-Client-ID': this.deps.clientId,
      Accept: 'application/fhir+json',
    };
    if (req.body !== undefined) headers['Content-Type'] = 'application/fhir+json';
    try {
      const res = await fetchText(
        this.deps.fetch,
        req.url,
        {
          method: req.method,
          headers,
          ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
          redirect: 'error',
        },
        Math.max(1, timeoutMs),
      );
      return { kind: 'response', ...res };
    } catch (error) {
      if (error instanceof TimeoutError) return { kind: 'timeout' };
      return { kind: 'network', errorName: networkErrorName(error) };
    }
  }

  private finish<T extends FhirResource>(
    req: FhirRequest,
    response: { status: number; headers: Headers; text: string },
    attempts: number,
  ): FhirResponse<T> {
    const { status } = response;
    const ok = status >= 200 && status < 300;
    const accepted = req.acceptStatuses?.includes(status) ?? false;

    if (status === 403) {
      throw new AppError(
        'epic_api_not_enabled',
        `Epic refused ${req.api} for client id ${this.deps.clientId} in tenant "${req.tenant}" (HTTP 403). ` +
          `Ask the organization's Epic analyst to enable ${req.api} for this client (and to give the ` +
          'Epic user mapped to the client the security to use it).',
        { details: { tenant: req.tenant, api: req.api, status, clientId: this.deps.clientId } },
      );
    }

    const parsed = this.parse(req, response);
    if (ok) {
      if (parsed.error) throw parsed.error;
      if (!req.expect.includes(parsed.resource.resourceType)) {
        throw this.badResponse(
          req,
          status,
          `a ${parsed.resource.resourceType} where ${req.expect.join(' or ')} was expected`,
        );
      }
      return { status, resource: parsed.resource as T, attempts };
    }
    if (accepted) {
      return { status, resource: parsed.error ? undefined : (parsed.resource as T), attempts };
    }
    const outcome = parsed.error ? [] : summarizeOutcome(parsed.resource);
    const said = outcome
      .map((o) => [o.epicCodes.join('/'), o.text].filter(Boolean).join(' '))
      .filter(Boolean)
      .join('; ');
    // Details are logged with the 5xx: codes and severity only, never Epic's text.
    const codes = outcome.map(({ severity, code, epicCodes }) => ({
      ...(severity !== undefined ? { severity } : {}),
      ...(code !== undefined ? { code } : {}),
      epicCodes,
    }));
    throw new AppError(
      'epic_fhir_error',
      `Epic answered ${req.api} with HTTP ${status}${said ? `: ${said}` : ''}.`,
      { details: { tenant: req.tenant, api: req.api, status, outcome: codes } },
    );
  }

  private parse(
    req: FhirRequest,
    response: { status: number; headers: Headers; text: string },
  ): { resource: FhirResource; error?: undefined } | { resource?: undefined; error: AppError } {
    const { status, text } = response;
    if (text.length > this.policy.maxResponseBytes) {
      return {
        error: this.badResponse(req, status, `a body larger than ${this.policy.maxResponseBytes} bytes`),
      };
    }
    const contentType = response.headers.get('content-type');
    if (contentType !== null && !/json/i.test(contentType)) {
      return {
        error: this.badResponse(req, status, `content-type "${contentType.slice(0, 60)}", not FHIR JSON`),
      };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { error: this.badResponse(req, status, 'a body that is not valid JSON') };
    }
    if (!isJsonObject(value) || typeof value.resourceType !== 'string') {
      return { error: this.badResponse(req, status, 'JSON that is not a FHIR resource (no resourceType)') };
    }
    return { resource: value as FhirResource };
  }

  private badResponse(req: FhirRequest, status: number, what: string): AppError {
    return new EpicUnavailableError(
      'epic_bad_response',
      `Epic answered ${req.api} with ${what} (HTTP ${status}). Check the tenant's FHIR base URLs point at ` +
        "the organization's Epic FHIR endpoints and not at a proxy or login page.",
      { details: { tenant: req.tenant, api: req.api, status } },
    );
  }

  private timeoutError(req: FhirRequest, attempts: number): AppError {
    return new EpicTimeoutError(req.api, { tenant: req.tenant, api: req.api, attempts });
  }

  private transientError(req: FhirRequest, outcome: AttemptOutcome, attempts: number): AppError {
    if (outcome.kind === 'timeout') return this.timeoutError(req, attempts);
    if (outcome.kind === 'network') {
      return new EpicUnavailableError(
        'epic_unavailable',
        `Epic could not be reached for ${req.api} after ${attempts} attempt(s); retry later.`,
        { details: { tenant: req.tenant, api: req.api, attempts, errorName: outcome.errorName } },
      );
    }
    if (outcome.status === 429) {
      return new EpicUnavailableError(
        'epic_rate_limited',
        `Epic kept rate limiting ${req.api} (HTTP 429) after ${attempts} attempt(s); retry later.`,
        { details: { tenant: req.tenant, api: req.api, attempts, status: 429 } },
      );
    }
    return new EpicUnavailableError(
      'epic_unavailable',
      `Epic answered ${req.api} with HTTP ${outcome.status} after ${attempts} attempt(s); retry later.`,
      { details: { tenant: req.tenant, api: req.api, attempts, status: outcome.status } },
    );
  }
}
