import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { expect } from 'vitest';
import type { Clock } from '../../functions/core/clock.js';
import type { ReaderDependencies } from '../../functions/core/dependencies.js';
import { createTokenUrlResolver } from '../../functions/core/epic/smart-configuration.js';
import { DEFAULT_TOKEN_CLIENT_OPTIONS } from '../../functions/core/epic/token-client.js';
import { parseCachedToken } from '../../functions/core/tokens/cached-token.js';
import { type MinterSettings, TokenMintingService } from '../../functions/core/tokens/token-minter.js';
import { CachingTokenProvider } from '../../functions/core/tokens/token-provider.js';
import { type CachedToken, isUsable, type TokenMinter } from '../../functions/core/tokens/types.js';
import { createFindSlotsHandler } from '../../functions/find-slots/handler.js';
import { createRefreshHandler } from '../../functions/refresh/handler.js';
import { SEED_PATIENT_ID } from '../../local/epic-simulator/scheduling/seed.js';
import { lambdaContext, toApiGatewayEvent } from '../../local/runtime/api-gateway-adapter.js';
import { createLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime/app.js';
import type { LogCapture } from '../helpers/log-capture.js';
import { type Area, MATRIX, type MatrixRow, matrixRow } from './matrix.js';

/**
 * The resilience suite's harness: the local runtime (real handlers, minter, token store) with the
 * embedded Epic simulator on loopback, a fetch that records every assertion and token (so the log
 * check knows what must never appear) and can make the token endpoint refuse connections, and a
 * sleep that records waits instead of waiting.
 */
/** Client timeout for the timeout rows (the simulator answers those after SLOW_ANSWER_MS). */
export const REQUEST_TIMEOUT_MS = 400;
export const SLOW_ANSWER_MS = 2_000;
export const SAFETY_MARGIN_MS = 60_000;

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface Response {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface Harness {
  runtime: LocalRuntime;
  /** Every assertion, access token and patient id seen: none may appear in a log line. */
  secrets: Set<string>;
  /** The client assertions among `secrets`. */
  assertions: Set<string>;
  /** The patient ids among `secrets`. */
  patientIds: Set<string>;
  /** Delays the code asked to sleep, in order. */
  sleeps: number[];
  /** Requests our fetch sent to a token endpoint (including refused ones). */
  tokenAttempts(): number;
  /** While true, token requests go to a closed loopback port (connection refused). */
  refuseTokenEndpoint: boolean;
  refresh(body: unknown, deps?: ReaderDependencies): Promise<Response>;
  /** `shortTimeout`: FHIR attempts time out after REQUEST_TIMEOUT_MS (default: the product's). */
  findSlots(
    body: unknown,
    deps?: ReaderDependencies,
    options?: { shortTimeout?: boolean },
  ): Promise<Response>;
  /** A new reader container: its own memory cache, the same store, the given minter. */
  newContainer(minter?: TokenMinter): ReaderDependencies;
  /**
   * A new minter container (as after a Lambda cold start): it has minted nothing yet, and shares
   * the runtime's store, keys and settings.
   */
  newMinter(): TokenMintingService;
  stored(tenant: string): Promise<CachedToken | undefined>;
  close(): Promise<void>;
}

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}/oauth2/token`;
}

export function apiEvent(path: string, body: string, contentType = 'application/json'): APIGatewayProxyEvent {
  const req = {
    url: path,
    method: 'POST',
    headers: { 'content-type': contentType, host: '127.0.0.1' },
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as Parameters<typeof toApiGatewayEvent>[0];
  return toApiGatewayEvent(req, Buffer.from(body), path);
}

export async function invoke(
  handler: Handler,
  path: string,
  body: unknown,
  contentType = 'application/json',
): Promise<Response> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const result = await handler(apiEvent(path, text, contentType), lambdaContext(path));
  return {
    status: result.statusCode,
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
    body: JSON.parse(result.body) as Record<string, unknown>,
  };
}

export async function startHarness(options: Partial<LocalRuntimeOptions> = {}): Promise<Harness> {
  const secrets = new Set<string>([SEED_PATIENT_ID]);
  const assertions = new Set<string>();
  const patientIds = new Set<string>([SEED_PATIENT_ID]);
  const sleeps: number[] = [];
  let attempts = 0;
  const refusedUrl = await closedPortUrl();
  const state = { refuse: false };

  const recordingFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    let url = String(input instanceof Request ? input.url : input);
    const isToken = url.endsWith('/oauth2/token');
    if (isToken) {
      attempts++;
      const assertion = new URLSearchParams(String(init?.body ?? '')).get('client_assertion');
      if (assertion) {
        secrets.add(assertion);
        assertions.add(assertion);
      }
      if (state.refuse) url = refusedUrl;
    }
    const response = await fetch(url, init);
    if (isToken && response.status === 200) {
      void response
        .clone()
        .json()
        .then((b: unknown) => {
          const token = (b as { access_token?: unknown } | null)?.access_token;
          if (typeof token === 'string') secrets.add(token);
        })
        .catch(() => undefined);
    }
    return response;
  }) as typeof fetch;

  const minterSettings: Partial<MinterSettings> = {
    forceMinIntervalSeconds: 0,
    tokenClient: { ...DEFAULT_TOKEN_CLIENT_OPTIONS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    ...options.minterSettings,
  };
  const runtime = await createLocalRuntime({
    stateDir: await mkdtemp(join(tmpdir(), 'resilience-')),
    fetch: recordingFetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
    minterSettings,
  });

  const refreshHandlers = new WeakMap<ReaderDependencies, Handler>();
  const findHandlers = new WeakMap<ReaderDependencies, Handler>();
  const shortFindHandlers = new WeakMap<ReaderDependencies, Handler>();
  const handlerFor = <T extends Handler>(
    map: WeakMap<ReaderDependencies, Handler>,
    deps: ReaderDependencies,
    make: () => T,
  ) => {
    let h = map.get(deps);
    if (!h) {
      h = make();
      map.set(deps, h);
    }
    return h;
  };
  const remember = (res: Response) => {
    if (typeof res.body.access_token === 'string') secrets.add(res.body.access_token);
    return res;
  };

  return {
    runtime,
    secrets,
    assertions,
    patientIds,
    sleeps,
    tokenAttempts: () => attempts,
    get refuseTokenEndpoint() {
      return state.refuse;
    },
    set refuseTokenEndpoint(value: boolean) {
      state.refuse = value;
    },
    async refresh(body, deps = runtime.reader) {
      const handler = handlerFor(refreshHandlers, deps, () => createRefreshHandler(deps) as Handler);
      return remember(await invoke(handler, '/epic/oauth/refresh', body));
    },
    async findSlots(body, deps = runtime.reader, { shortTimeout = false } = {}) {
      const handler = shortTimeout
        ? handlerFor(
            shortFindHandlers,
            deps,
            () =>
              createFindSlotsHandler(deps, {
                fhirPolicy: { requestTimeoutMs: REQUEST_TIMEOUT_MS },
              }) as Handler,
          )
        : handlerFor(findHandlers, deps, () => createFindSlotsHandler(deps) as Handler);
      return invoke(handler, '/epic/find-slots', body);
    },
    newMinter() {
      const { reader, store, keys, tenants } = runtime;
      return new TokenMintingService({
        clientId: reader.clientId,
        tenants,
        store,
        keys,
        tokenUrls: createTokenUrlResolver({
          fetch: reader.fetch,
          clock: reader.clock,
          logger: reader.logger,
        }),
        fetch: reader.fetch,
        clock: reader.clock,
        sleep: reader.sleep,
        random: reader.random,
        logger: reader.logger,
        metrics: reader.metrics,
        settings: minterSettings,
      });
    },
    newContainer(minter = runtime.minter) {
      const { reader, store } = runtime;
      return {
        ...reader,
        tokens: new CachingTokenProvider({
          store,
          minter,
          clock: reader.clock,
          logger: reader.logger,
          metrics: reader.metrics,
        }),
      };
    },
    async stored(tenant) {
      const token = await runtime.store.read(tenant);
      if (token) secrets.add(token.access_token);
      return token;
    },
    close: () => runtime.close(),
  };
}

/** The cached token parses as a stored record for `tenant` and has more than the margin left. */
export function expectUsableToken(token: CachedToken | undefined, tenant: string, clock: Clock): CachedToken {
  expect(token, `a token is cached for ${tenant}`).toBeDefined();
  const parsed = parseCachedToken(JSON.stringify(token), tenant);
  expect(parsed, 'the cached record parses').not.toHaveProperty('problem');
  expect(isUsable(token!, clock.now(), SAFETY_MARGIN_MS), 'the cached token is not about to expire').toBe(
    true,
  );
  return token!;
}

/** A find-slots body valid for the built-in sandbox tenants (next week's seeded clinic). */
export function findSlotsBody(nowMs: number, tenant = 'sandbox'): Record<string, unknown> {
  const day = 86_400_000;
  const today = Math.floor(nowMs / day) * day;
  const daysSinceMonday = (new Date(today).getUTCDay() + 6) % 7;
  const monday = today + (7 - daysSinceMonday) * day;
  return {
    tenant,
    start: new Date(monday + 8 * 3_600_000).toISOString(),
    end: new Date(monday + 17 * 3_600_000).toISOString(),
    patient: { id: SEED_PATIENT_ID },
  };
}

/** What a test measured for a matrix row; status and code are compared only when given. */
export interface Measured {
  status?: MatrixRow['status'] | string;
  code?: string | null;
  counts: Record<string, number>;
}

/** Rows asserted through {@link assertRow} in this test file (vitest runs each file in its own process). */
const assertedRows = new Set<string>();

/**
 * Asserts a matrix row exactly (counts equal the row's counts, no more and no fewer; status and
 * code when measured) and records that the row was asserted.
 */
export function assertRow(id: string, measured: Measured): MatrixRow {
  const row = matrixRow(id);
  if (measured.status !== undefined) expect(measured.status, `${id}: status`).toBe(row.status);
  if (measured.code !== undefined) expect(measured.code, `${id}: code`).toBe(row.code);
  expect(measured.counts, `${id}: counts`).toEqual(row.counts);
  assertedRows.add(id);
  return row;
}

/**
 * For a file's afterAll: every matrix row of `areas` (the areas the file owns) was asserted through
 * {@link assertRow} in this file. A row only mentioned, or a test that stopped before assertRow,
 * fails here. (Running a subset of a file with `-t` reports the rows it skipped.)
 */
export function expectRowsAsserted(areas: readonly Area[]): void {
  const missing = MATRIX.filter((r) => areas.includes(r.area) && !assertedRows.has(r.id)).map((r) => r.id);
  expect(missing, 'matrix rows of this file not asserted through assertRow').toEqual([]);
}

/** Counts, per kind, the secrets the harness saw that appear in `text`. */
export function leakCounts(text: string, h: Harness): Record<string, number> {
  const found = (values: Iterable<string>) =>
    [...values].filter((v) => v.length >= 8 && text.includes(v)).length;
  const tokens = [...h.secrets].filter((v) => !h.assertions.has(v) && !h.patientIds.has(v));
  return {
    leakedTokens: found(tokens),
    leakedAssertions:
      found(h.assertions) + (text.match(/eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\./g)?.length ?? 0),
    leakedAuthorizationHeaders: text.match(/Bearer\s+[A-Za-z0-9._~+/-]{16,}/g)?.length ?? 0,
    leakedPatientIds: found(h.patientIds),
  };
}

/**
 * The `no-secrets-in-logs` row for one file, with a positive control first: the capture must have
 * seen every code in `expectedCodes` (log codes this file's rows are known to produce), so the
 * check fails if logging is rerouted away from the capture rather than passing on empty text.
 */
export function expectLogsCapturedWithoutSecrets(
  logs: LogCapture,
  h: Harness,
  expectedCodes: readonly string[],
): void {
  const seen = new Set(logs.codes());
  expect(
    expectedCodes.filter((code) => !seen.has(code)),
    'expected log codes missing from the capture',
  ).toEqual([]);
  assertRow('no-secrets-in-logs', { counts: leakCounts(logs.text(), h) });
}
