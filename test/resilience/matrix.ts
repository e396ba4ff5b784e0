/**
 * The fault matrix: one row per fault, with the exact outcome the suite asserts. The tests check
 * what they measured against a row with `assertRow(id, measured)` (support.ts), each file checks in
 * an afterAll that all rows of its areas were asserted, and `matrix-doc.test.ts` renders these rows into
 * docs/RESILIENCE.md and fails when the committed doc differs, so the doc can only say what the
 * suite checks. The rendering depends on this data alone (never on run order or timing).
 */
export type Area =
  | 'Epic token endpoint'
  | 'Epic FHIR'
  | 'KMS'
  | 'Secrets Manager'
  | 'Concurrency'
  | 'Bad input'
  | 'Secrets';

export interface MatrixRow {
  id: string;
  area: Area;
  /** The fault as injected. */
  fault: string;
  /** The call made while the fault is armed. */
  call: string;
  /**
   * HTTP status the caller receives; `no 5xx` where generated bodies may be valid (200) or not
   * (4xx) and only the absence of a 5xx is asserted; `-` where the row makes no call of its own.
   */
  status: number | 'no 5xx' | '-';
  /** The body's `error` code, or null for a 2xx. */
  code: string | null;
  /** Exact counts the test asserts (calls to the faulty dependency, mints, writes). */
  counts: Record<string, number>;
  /** What the token cache holds afterwards. */
  tokenAfter: string;
}

const KEEP = 'unchanged: the token cached before, still valid';

export const MATRIX: readonly MatrixRow[] = [
  // Epic token endpoint: a forced refresh over a valid cached token (POST /epic/oauth/refresh).
  {
    id: 'token-500',
    area: 'Epic token endpoint',
    fault: 'HTTP 500 on every request',
    call: 'forced refresh',
    status: 502,
    code: 'epic_unavailable',
    counts: { epicTokenRequests: 3 },
    tokenAfter: KEEP,
  },
  {
    id: 'token-500-once',
    area: 'Epic token endpoint',
    fault: 'HTTP 500 once, then normal',
    call: 'forced refresh',
    status: 200,
    code: null,
    counts: { epicTokenRequests: 2 },
    tokenAfter: 'the new token, valid',
  },
  {
    id: 'token-429-retry-after',
    area: 'Epic token endpoint',
    fault: 'HTTP 429 with `Retry-After: 2` on every request',
    call: 'forced refresh',
    status: 502,
    code: 'epic_rate_limited',
    counts: { epicTokenRequests: 3, waitsOfAtLeastRetryAfter: 2 },
    tokenAfter: KEEP,
  },
  {
    id: 'token-timeout',
    area: 'Epic token endpoint',
    fault: 'answers after 2 s (client timeout 400 ms)',
    call: 'forced refresh',
    status: 504,
    code: 'epic_timeout',
    counts: { epicTokenRequests: 3 },
    tokenAfter: KEEP,
  },
  {
    id: 'token-connection-refused',
    area: 'Epic token endpoint',
    fault: 'connection refused (closed loopback port)',
    call: 'forced refresh',
    status: 502,
    code: 'epic_unavailable',
    counts: { connectAttempts: 3 },
    tokenAfter: KEEP,
  },
  {
    id: 'token-invalid-client',
    area: 'Epic token endpoint',
    fault: 'HTTP 400 `invalid_client`',
    call: 'forced refresh',
    status: 502,
    code: 'epic_token_rejected',
    counts: { epicTokenRequests: 1 },
    tokenAfter: KEEP,
  },
  {
    id: 'token-unauthorized-client',
    area: 'Epic token endpoint',
    fault: 'HTTP 400 `unauthorized_client`',
    call: 'forced refresh',
    status: 502,
    code: 'epic_token_rejected',
    counts: { epicTokenRequests: 1 },
    tokenAfter: KEEP,
  },
  {
    id: 'token-malformed-200',
    area: 'Epic token endpoint',
    fault: 'HTTP 200 with a truncated JSON body',
    call: 'forced refresh',
    status: 502,
    code: 'epic_bad_response',
    counts: { epicTokenRequests: 1 },
    tokenAfter: KEEP,
  },
  // Epic FHIR: POST /epic/find-slots with a valid cached token.
  {
    id: 'fhir-401-after-revocation',
    area: 'Epic FHIR',
    fault: 'Epic revoked every issued token (401 on the cached one)',
    call: 'find-slots',
    status: 200,
    code: null,
    counts: { fhirRequests: 2, epicTokenRequests: 1 },
    tokenAfter: 'a new token (the revoked one is gone), valid',
  },
  {
    id: 'fhir-401-always',
    area: 'Epic FHIR',
    fault: 'HTTP 401 on every request',
    call: 'find-slots',
    status: 502,
    code: 'epic_token_revoked',
    counts: { fhirRequests: 2, epicTokenRequests: 1 },
    tokenAfter: 'the one new token minted for the retry, valid',
  },
  {
    id: 'fhir-403',
    area: 'Epic FHIR',
    fault: 'HTTP 403',
    call: 'find-slots',
    status: 502,
    code: 'epic_api_not_enabled',
    counts: { fhirRequests: 1, epicTokenRequests: 0 },
    tokenAfter: KEEP,
  },
  {
    id: 'fhir-429',
    area: 'Epic FHIR',
    fault: 'HTTP 429 on every request',
    call: 'find-slots',
    status: 502,
    code: 'epic_rate_limited',
    counts: { fhirRequests: 3, epicTokenRequests: 0 },
    tokenAfter: KEEP,
  },
  {
    id: 'fhir-500',
    area: 'Epic FHIR',
    fault: 'HTTP 500 on every request',
    call: 'find-slots',
    status: 502,
    code: 'epic_unavailable',
    counts: { fhirRequests: 3, epicTokenRequests: 0 },
    tokenAfter: KEEP,
  },
  {
    id: 'fhir-timeout',
    area: 'Epic FHIR',
    fault: 'answers after 2 s (client timeout 400 ms)',
    call: 'find-slots',
    status: 504,
    code: 'epic_timeout',
    counts: { fhirRequests: 3, epicTokenRequests: 0 },
    tokenAfter: KEEP,
  },
  {
    id: 'fhir-truncated-json',
    area: 'Epic FHIR',
    fault: 'HTTP 200 with truncated JSON',
    call: 'find-slots',
    status: 502,
    code: 'epic_bad_response',
    counts: { fhirRequests: 1, epicTokenRequests: 0 },
    tokenAfter: KEEP,
  },
  {
    id: 'fhir-non-fhir-body',
    area: 'Epic FHIR',
    fault: 'HTTP 200 with an HTML login page',
    call: 'find-slots',
    status: 502,
    code: 'epic_bad_response',
    counts: { fhirRequests: 1, epicTokenRequests: 0 },
    tokenAfter: KEEP,
  },
  {
    id: 'fhir-unexpected-bundle',
    area: 'Epic FHIR',
    fault: 'HTTP 200 Bundle with odd entries (no start, bad participant, non-object entries, unknown types)',
    call: 'find-slots',
    status: 200,
    code: null,
    counts: { fhirRequests: 1, slots: 1, malformedAppointments: 2 },
    tokenAfter: KEEP,
  },
  // KMS: a forced refresh over a valid cached token, the minter signing with KMS.
  {
    id: 'kms-throttling',
    area: 'KMS',
    fault: '`Sign` fails with ThrottlingException',
    call: 'forced refresh',
    status: 503,
    code: 'signing_unavailable',
    counts: { kmsSign: 1, epicTokenRequests: 0 },
    tokenAfter: KEEP,
  },
  {
    id: 'kms-access-denied',
    area: 'KMS',
    fault: '`Sign` fails with AccessDeniedException',
    call: 'forced refresh',
    status: 503,
    code: 'signing_unavailable',
    counts: { kmsSign: 1, epicTokenRequests: 0 },
    tokenAfter: KEEP,
  },
  {
    id: 'kms-disabled-key',
    area: 'KMS',
    fault: '`Sign` fails with DisabledException',
    call: 'forced refresh',
    status: 503,
    code: 'signing_unavailable',
    counts: { kmsSign: 1, epicTokenRequests: 0 },
    tokenAfter: KEEP,
  },
  // Secrets Manager: a new reader container (empty memory) and a new minter container (it has
  // minted nothing yet, as after a Lambda cold start) serve a token request.
  {
    id: 'sm-read-throttling',
    area: 'Secrets Manager',
    fault: '`GetSecretValue` fails with ThrottlingException',
    call: 'refresh from new reader and minter containers',
    status: 200,
    code: null,
    counts: { epicTokenRequests: 1, kmsSign: 1, secretWrites: 1 },
    tokenAfter: 'the new token, valid',
  },
  {
    id: 'sm-unavailable',
    area: 'Secrets Manager',
    fault: '`GetSecretValue` and `PutSecretValue` fail with InternalServiceError',
    call: 'refresh from new reader and minter containers, then a warmer run once it is back',
    status: 200,
    code: null,
    counts: { epicTokenRequests: 1, secretWritesFailed: 1, secretWritesByWarmer: 0 },
    tokenAfter: 'unchanged: the token cached before, still valid (the warmer finds it fresh)',
  },
  {
    id: 'sm-corrupted-value',
    area: 'Secrets Manager',
    fault: 'the secret holds text that is not a token record',
    call: 'refresh from new reader and minter containers',
    status: 200,
    code: null,
    counts: { epicTokenRequests: 1, secretWrites: 1 },
    tokenAfter: 'the new token, valid (the corrupt value is replaced)',
  },
  {
    id: 'sm-foreign-value',
    area: 'Secrets Manager',
    fault: "the secret holds another tenant's token record",
    call: 'refresh from new reader and minter containers',
    status: 200,
    code: null,
    counts: { epicTokenRequests: 1, secretWrites: 1 },
    tokenAfter: 'the new token for this tenant (the foreign token is never served)',
  },
  {
    id: 'sm-write-fails-after-mint',
    area: 'Secrets Manager',
    fault: '`PutSecretValue` fails with ThrottlingException after a successful mint',
    call: 'refresh from new containers, a warmer run of that minter, then another new reader',
    status: 200,
    code: null,
    counts: { epicTokenRequests: 1, warmerRepairs: 1, mintsAfterRepair: 0 },
    tokenAfter: 'the minted token, handed out and then written by the warmer',
  },
  // Concurrency.
  {
    id: 'concurrency-200-one-mint',
    area: 'Concurrency',
    fault: '200 concurrent find-slots requests over 20 containers, empty cache',
    call: 'find-slots',
    status: 200,
    code: null,
    counts: { requests: 200, epicTokenRequests: 1, assertionsSigned: 1, storeWrites: 1 },
    tokenAfter: 'the one minted token, valid',
  },
  {
    id: 'concurrency-warmer-race',
    area: 'Concurrency',
    fault: 'warmer runs racing readers over 3 token lifetimes (fake clock)',
    call: 'find-slots and refresh',
    status: 200,
    code: null,
    counts: { expiredTokensServed: 0, fhir401: 0, requestPathMints: 0 },
    tokenAfter: 'always usable (more than the 60 s safety margin left)',
  },
  // Bad input.
  {
    id: 'bad-input-refresh',
    area: 'Bad input',
    fault: '1,000 generated bodies (any JSON, near-valid objects, non-JSON text, odd media types)',
    call: 'POST /epic/oauth/refresh',
    status: 'no 5xx',
    code: null,
    counts: { bodies: 1000, serverErrors: 0 },
    tokenAfter: 'valid',
  },
  {
    id: 'bad-input-find-slots',
    area: 'Bad input',
    fault: '1,000 generated bodies (any JSON, near-valid objects, non-JSON text, odd media types)',
    call: 'POST /epic/find-slots',
    status: 'no 5xx',
    code: null,
    counts: { bodies: 1000, serverErrors: 0 },
    tokenAfter: 'valid',
  },
  {
    id: 'bad-input-preflight',
    area: 'Bad input',
    fault: '1,000 generated bodies (any JSON, near-valid objects, non-JSON text, odd media types)',
    call: 'POST /epic/preflight',
    status: 'no 5xx',
    code: null,
    counts: { bodies: 1000, serverErrors: 0 },
    tokenAfter: 'valid',
  },
  // Secrets.
  {
    id: 'no-secrets-in-logs',
    area: 'Secrets',
    fault: 'every row above, logs captured per file',
    call: 'all',
    status: '-',
    code: null,
    counts: { leakedTokens: 0, leakedAssertions: 0, leakedAuthorizationHeaders: 0, leakedPatientIds: 0 },
    tokenAfter: '-',
  },
];

export function matrixRow(id: string): MatrixRow {
  const row = MATRIX.find((r) => r.id === id);
  if (!row) throw new Error(`No resilience matrix row "${id}"`);
  return row;
}

/**
 * The markdown table docs/RESILIENCE.md holds between its markers, with padded columns as the
 * repo's formatter (Biome) writes markdown tables, so the generated doc is also lint-clean.
 */
export function renderMatrixTable(rows: readonly MatrixRow[] = MATRIX): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const header = ['row', 'area', 'fault', 'call', 'status', 'code', 'exact counts', 'token cache afterwards'];
  const body = rows.map((r) => [
    `\`${r.id}\``,
    r.area,
    esc(r.fault),
    esc(r.call),
    String(r.status),
    r.code ? `\`${r.code}\`` : '-',
    Object.entries(r.counts)
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
    esc(r.tokenAfter),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export const DOC_BEGIN = '<!-- resilience-matrix:begin (generated by test/resilience/matrix-doc.test.ts) -->';
export const DOC_END = '<!-- resilience-matrix:end -->';
