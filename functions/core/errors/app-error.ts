/**
 * The one error hierarchy of the product. Every failure a caller can see is an AppError with a
 * stable `code`; `errors/http-status.ts` maps codes to HTTP status in one table. Only the message of
 * a 4xx reaches a caller verbatim; 5xx bodies are built from the code and safe details only.
 *
 * Never put an access token, assertion, Authorization header or patient data in a message or in
 * `details`: both may be logged and returned.
 */
export type ErrorDetails = Record<string, unknown>;

export class AppError extends Error {
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }

  /** The wire form shared by HTTP bodies and the minter's invoke payload. */
  toJSON(): { error: string; message: string; details: ErrorDetails } {
    return { error: this.code, message: this.message, details: this.details };
  }
}

/** Bad caller input: names the field and says what is allowed. Always 400. */
export class InvalidInputError extends AppError {
  constructor(field: string, message: string, details: ErrorDetails = {}) {
    super('invalid_input', message, { details: { field, ...details } });
  }
}

export class UnknownTenantError extends AppError {
  constructor(tenant: string, known: readonly string[]) {
    // An environment may have no tenant yet (prod before its first health system).
    const hint =
      known.length === 0
        ? 'No tenants are configured in this environment yet.'
        : 'Use one of the configured tenant ids.';
    super('unknown_tenant', `Unknown tenant "${tenant}". ${hint}`, {
      details: { field: 'tenant', tenant, knownTenants: known },
    });
  }
}

/** Start-up or synth configuration problems; every problem found is listed at once. */
export class ConfigError extends AppError {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super('config_invalid', `${source} is invalid:\n  - ${problems.join('\n  - ')}`, {
      details: { source, problems },
    });
    this.problems = problems;
  }
}

/** A forced refresh asked for sooner than the per-tenant minimum interval. */
export class RateLimitedError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(code: string, message: string, retryAfterSeconds: number, details: ErrorDetails = {}) {
    super(code, message, { details: { ...details, retryAfterSeconds } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Epic's token endpoint refused our assertion (HTTP 400/401 with an OAuth `error`). Not retried. */
export class EpicTokenRejectedError extends AppError {
  readonly epicError: string;
  constructor(tenant: string, epicError: string, hint: string, epicErrorDescription?: string) {
    super(
      'epic_token_rejected',
      `Epic refused the token request for tenant "${tenant}": ${epicError}. ${hint}`,
      {
        details: {
          tenant,
          epicError,
          hint,
          ...(epicErrorDescription ? { epicErrorDescription } : {}),
        },
      },
    );
    this.epicError = epicError;
  }
}

/** Epic did not answer within the time budget. */
export class EpicTimeoutError extends AppError {
  constructor(what: string, details: ErrorDetails = {}) {
    super('epic_timeout', `Epic did not answer ${what} in time.`, { details });
  }
}

/** Epic answered with a fault (5xx, 429 beyond the budget, connection refused, unreadable body). */
export class EpicUnavailableError extends AppError {
  constructor(code: string, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(code, message, options);
  }
}

/** An AWS dependency (KMS, Secrets Manager, Lambda) failed after bounded retries. */
export class DependencyError extends AppError {}

/** Rebuilds an AppError from its wire form (used across the minter's Lambda invoke). */
export function appErrorFromJson(value: unknown): AppError | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { error?: unknown; message?: unknown; details?: unknown };
  if (typeof v.error !== 'string' || typeof v.message !== 'string') return undefined;
  const details = typeof v.details === 'object' && v.details !== null ? (v.details as ErrorDetails) : {};
  const retryAfter = details.retryAfterSeconds;
  if (typeof retryAfter === 'number') return new RateLimitedError(v.error, v.message, retryAfter, details);
  return new AppError(v.error, v.message, { details });
}
