import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { buildFindParameters } from '../functions/core/scheduling/find-appointments.js';
import { validateFindSlotsRequest } from '../functions/core/scheduling/validate-request.js';
import type { SimulatorEndpoints } from '../local/epic-simulator/index.js';
import { SEED_SERVICE_TYPE_SYSTEM, SEED_SERVICE_TYPES } from '../local/epic-simulator/scheduling/seed.js';
import { createLocalRuntime, NONPROD_CLIENT_ID } from '../local/runtime/app.js';
import { type ColdStartResult, measureColdStart } from './cold-start.js';
import type { LatencyResult, LoadJob, ThroughputResult } from './load-client.js';
import { LATENCY_ORG } from './simulator-process.js';
import { clinicWindow, DEFAULT_ECONOMY, type EconomyResult, measureTokenEconomy } from './token-economy.js';

/**
 * `npm run bench`: every figure next to a baseline measured in the same run (README in this
 * folder explains how to read it). Loopback only; bounded in count and time (about 2-3 minutes on
 * two cores). Prints a table and writes the same figures to bench/results.json.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const QUICK = process.argv.includes('--quick');
const LATENCY = { warmupMs: QUICK ? 300 : 1_000, durationMs: QUICK ? 1_000 : 3_000, maxRequests: 200_000 };
/**
 * Latency rounds: direct and route measured alternately (direct first in even rounds, route first
 * in odd ones), and each figure is the median of the per-round percentiles. One run of each was
 * not enough: on a shared 2-core machine the same target's p50 at 50 clients moves by 15-20 ms
 * between runs, more than the route's own cost.
 */
const ROUNDS = QUICK ? 2 : 3;
const THROUGHPUT = { connections: 100, durationSeconds: QUICK ? 2 : 5 };
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/**
 * Runs one load job in its own process. A job with transport errors or non-2xx answers fails the
 * bench: its figures would compare failures with successes.
 */
async function runLoad<T extends LatencyResult | ThroughputResult>(job: LoadJob, label: string): Promise<T> {
  const result = await spawnLoad<T>(job);
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(
      `${label}: ${result.errors} transport error(s) and ${result.non2xx} non-2xx answer(s) ` +
        `out of ${result.requests + result.errors + result.non2xx} requests to ${job.url}; ` +
        'every request must succeed for the figure to mean anything',
    );
  }
  return result;
}

function spawnLoad<T>(job: LoadJob): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'load-client.ts')], {
      env: { ...process.env, LOAD_JOB: JSON.stringify(job), NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: root,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{'))
        reject(new Error(`load client failed (${code}): ${err.slice(-500)}`));
      else resolve(JSON.parse(line) as T);
    });
  });
}

/** Per-round results of one target and the medians of their percentiles. */
interface LatencySeries {
  /** Medians over the rounds of each round's p50 / p99 / mean / rps. */
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  rps: number;
  /** Max - min of the rounds' p50 and p99: the run-to-run noise of this target. */
  p50SpreadMs: number;
  p99SpreadMs: number;
  meanResponseBytes: number;
  rounds: LatencyResult[];
}

interface LatencyFigure {
  tenant: string;
  /** Epic's own latency injected in the simulator for this tenant (ms). */
  epicDelayMs: number;
  clients: number;
  route: LatencySeries;
  direct: LatencySeries;
  /**
   * Percentiles where our route came out faster than the direct call by more than the noise (the
   * larger of the two targets' round-to-round spread), or faster in every round. Our route does
   * the direct call's work plus its own, so such a figure is an artefact of the setup, not a result.
   */
  suspect: Array<'p50' | 'p99'>;
}

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const spread = (values: readonly number[]) => Math.max(...values) - Math.min(...values);

function series(rounds: LatencyResult[]): LatencySeries {
  const p50s = rounds.map((r) => r.p50Ms);
  const p99s = rounds.map((r) => r.p99Ms);
  return {
    p50Ms: median(p50s),
    p99Ms: median(p99s),
    meanMs: median(rounds.map((r) => r.meanMs)),
    rps: median(rounds.map((r) => r.rps)),
    p50SpreadMs: spread(p50s),
    p99SpreadMs: spread(p99s),
    meanResponseBytes: median(rounds.map((r) => r.meanResponseBytes)),
    rounds,
  };
}

function suspectPercentiles(route: LatencySeries, direct: LatencySeries): LatencyFigure['suspect'] {
  const suspect: LatencyFigure['suspect'] = [];
  // Below by more than the noise, or below in every round (round i of each ran back to back).
  const belowEveryRound = (p: 'p50Ms' | 'p99Ms') =>
    route.rounds.length > 1 && route.rounds.every((r, i) => r[p] < (direct.rounds[i]?.[p] ?? 0));
  if (
    route.p50Ms < direct.p50Ms - Math.max(route.p50SpreadMs, direct.p50SpreadMs) ||
    belowEveryRound('p50Ms')
  )
    suspect.push('p50');
  if (
    route.p99Ms < direct.p99Ms - Math.max(route.p99SpreadMs, direct.p99SpreadMs) ||
    belowEveryRound('p99Ms')
  )
    suspect.push('p99');
  return suspect;
}

interface LoadFigures {
  latency: LatencyFigure[];
  throughput: { route: ThroughputResult; direct: ThroughputResult };
  memory: { idleRssMb: number; peakRssMbUnder50Clients: number };
}

const EPIC_DELAY_MS = 100;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Starts the simulator process; resolves with its endpoints per organization. */
function startSimulator(jwksUrl: string, clientId: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'simulator-process.ts')], {
    env: {
      ...process.env,
      SIM_JWKS_URL: jwksUrl,
      SIM_CLIENT_ID: clientId,
      SIM_FHIR_DELAY_MS: String(EPIC_DELAY_MS),
      NODE_OPTIONS: '',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: root,
  });
  const ready = new Promise<Record<string, SimulatorEndpoints>>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line) as Record<string, SimulatorEndpoints>);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`simulator process exited (${code}): ${err.slice(-500)}`)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.stdin.end();
    });
  return { ready, stop };
}

function tenantsFor(endpoints: Record<string, SimulatorEndpoints>) {
  return {
    tenants: Object.entries(endpoints).map(([id, ep]) => ({
      id,
      name: `${id} (simulated, separate process)`,
      fhirBaseUrl: ep.r4Base,
      stu3BaseUrl: ep.stu3Base,
      tokenUrl: ep.tokenUrl,
      scheduling: {
        serviceTypeSystem: SEED_SERVICE_TYPE_SYSTEM,
        serviceTypes: [{ code: SEED_SERVICE_TYPES.officeVisit, display: 'Office Visit' }],
        providerBasedScheduling: false,
      },
    })),
  };
}

async function measureLoad(): Promise<LoadFigures> {
  const stateDir = await mkdtemp(join(tmpdir(), 'bench-runtime-'));
  const port = await freePort();
  const simulator = startSimulator(`http://127.0.0.1:${port}/epic/oauth`, NONPROD_CLIENT_ID);
  const tenantsFile = join(stateDir, 'tenants.json');
  await writeFile(tenantsFile, JSON.stringify(tenantsFor(await simulator.ready)));
  // INFO logs off: the bench measures the code path, not a terminal receiving two lines per request.
  const logger = new Logger({ serviceName: 'bench', logLevel: 'CRITICAL' });
  const runtime = await createLocalRuntime({ stateDir, logger, port, tenantsFile });
  try {
    if (!runtime.routes.some((r) => r.method === 'POST' && r.path === '/epic/find-slots')) {
      throw new Error('the local runtime has no POST /epic/find-slots route');
    }
    const targets = async (tenantId: string) => {
      const tenant = runtime.tenants.get(tenantId);
      const body = { tenant: tenant.id, ...clinicWindow(Date.now()) };
      // The direct call: exactly the $find our route sends, with the token our route would use.
      const params = buildFindParameters(validateFindSlotsRequest(body, runtime.tenants), undefined);
      const token = (await runtime.reader.tokens.getToken(tenant.id)).token.access_token;
      const route = {
        url: `${runtime.url}/epic/find-slots`,
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      };
      const direct = {
        url: `${tenant.stu3BaseUrl}/Appointment/$find`,
        body: JSON.stringify(params),
        headers: {
          authorization: `Bearer ${token}`,
          'epic-client-id': runtime.reader.clientId,
          'content-type': 'application/fhir+json',
          accept: 'application/fhir+json',
        },
      };
      for (const target of [route, direct]) {
        const res = await fetch(target.url, { method: 'POST', headers: target.headers, body: target.body });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`sanity request to ${target.url} answered ${res.status}`);
        if (target === route && !(JSON.parse(text) as { slots: unknown[] }).slots.length) {
          throw new Error('the sanity find-slots request found no slots');
        }
      }
      return { route, direct };
    };
    const fast = await targets('sandbox');
    const slow = await targets(LATENCY_ORG);

    const idleRssMb = process.memoryUsage().rss / 2 ** 20;
    let peakRss = 0;
    const latency: LatencyFigure[] = [];
    const plan = [
      { tenant: 'sandbox', epicDelayMs: 0, clients: 1, t: fast },
      { tenant: 'sandbox', epicDelayMs: 0, clients: 50, t: fast },
      { tenant: LATENCY_ORG, epicDelayMs: EPIC_DELAY_MS, clients: 50, t: slow },
    ];
    for (const { tenant, epicDelayMs, clients, t } of plan) {
      const what = `latency, Epic +${epicDelayMs} ms, ${clients} client(s)`;
      log(`${what}: ${ROUNDS} rounds of direct $find and POST /epic/find-slots, alternating`);
      const job = (target: typeof t.route): LoadJob => ({ mode: 'latency', clients, ...LATENCY, ...target });
      const rounds = { direct: [] as LatencyResult[], route: [] as LatencyResult[] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? (['direct', 'route'] as const) : (['route', 'direct'] as const);
        for (const name of order) {
          const sampler =
            clients === 50 && name === 'route'
              ? setInterval(() => {
                  peakRss = Math.max(peakRss, process.memoryUsage().rss);
                }, 20)
              : undefined;
          try {
            rounds[name].push(
              await runLoad<LatencyResult>(job(t[name]), `${what}, ${name}, round ${round + 1}`),
            );
          } finally {
            if (sampler) clearInterval(sampler);
          }
        }
      }
      const route = series(rounds.route);
      const direct = series(rounds.direct);
      latency.push({
        tenant,
        epicDelayMs,
        clients,
        route,
        direct,
        suspect: suspectPercentiles(route, direct),
      });
    }
    log(`throughput at ${THROUGHPUT.connections} connections (autocannon): direct, then route`);
    const throughputJob = (target: typeof fast.route): LoadJob => ({
      mode: 'throughput',
      ...THROUGHPUT,
      ...target,
    });
    const directT = await runLoad<ThroughputResult>(throughputJob(fast.direct), 'throughput, direct');
    const routeT = await runLoad<ThroughputResult>(throughputJob(fast.route), 'throughput, route');
    return {
      latency,
      throughput: { route: routeT, direct: directT },
      memory: { idleRssMb, peakRssMbUnder50Clients: peakRss / 2 ** 20 },
    };
  } finally {
    await runtime.close();
    await simulator.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

function table(load: LoadFigures, economy: EconomyResult, cold: ColdStartResult): string {
  const rows: string[][] = [['figure', 'ours', 'baseline', 'ratio', 'goal']];
  for (const { epicDelayMs, clients, route, direct, suspect } of load.latency) {
    const epic = epicDelayMs ? `Epic +${epicDelayMs} ms` : 'Epic instant';
    for (const p of ['p50', 'p99'] as const) {
      const ours = p === 'p50' ? route.p50Ms : route.p99Ms;
      const base = p === 'p50' ? direct.p50Ms : direct.p99Ms;
      const noise = Math.max(
        p === 'p50' ? route.p50SpreadMs : route.p99SpreadMs,
        p === 'p50' ? direct.p50SpreadMs : direct.p99SpreadMs,
      );
      rows.push([
        `find-slots ${p} latency, ${clients} client(s), ${epic} (ms; ${ours >= base ? '+' : ''}${fmt(ours - base)} ms, ` +
          `noise ${fmt(noise)} ms)${suspect.includes(p) ? ' SUSPECT: ours < baseline' : ''}`,
        fmt(ours),
        fmt(base),
        fmt(ours / base),
        p === 'p50' && clients === 50 ? '<= 1.10' : '',
      ]);
    }
  }
  const t = load.throughput;
  rows.push([
    `throughput at ${THROUGHPUT.connections} connections (req/s)`,
    fmt(t.route.rps, 0),
    fmt(t.direct.rps, 0),
    fmt(t.route.rps / t.direct.rps),
    '',
  ]);
  const s = economy.settings;
  const label = `${s.requests} req, ${s.containers} containers, ${s.tenants} tenants, ${s.windowSeconds / 3600} h`;
  for (const scenario of economy.scenarios) {
    const c = scenario.counts;
    rows.push([`token economy ${scenario.name}: ${label}`, '', `ideal ${economy.ideal}`, '', '']);
    for (const [name, ours, naive] of [
      ['KMS Sign calls', c.kmsSign, economy.naive.kmsSign],
      ['Epic token requests', c.epicTokenRequests, economy.naive.epicTokenRequests],
      ['Secrets Manager writes', c.secretsManagerWrites, economy.naive.secretsManagerWrites],
    ] as const) {
      rows.push([
        `  ${name} (vs ideal; naive ${naive})`,
        String(ours),
        String(economy.ideal),
        fmt(ours / economy.ideal),
        '= ideal',
      ]);
    }
    // The first warmer run is half an interval in, so readers start on a cold cache and may mint
    // once per tenant; every later mint must be the warmer's.
    rows.push([
      `  mints on the request path (cold cache at start; ${c.requestPathMintCalls} reader calls shared them)`,
      String(c.requestPathMints),
      `${s.tenants} (1 per tenant)`,
      '',
      `<= ${s.tenants}`,
    ]);
    rows.push(['  requests not answered 200', String(c.non200), '0', '', '0']);
  }
  rows.push([
    '  naive client: KMS Sign / token requests',
    `${economy.naive.kmsSign} / ${economy.naive.epicTokenRequests}`,
    `${s.requests}`,
    '',
    '',
  ]);
  for (const b of cold.bundles) {
    const what = b.variant === 'sdk-bundled' ? 'as deployed' : 'SDK external';
    rows.push([
      `cold start ${b.name} (${what}): ${(b.bytes / 1024).toFixed(0)} KiB, ready (ms, median of ${cold.runs})`,
      fmt(b.medianReadyMs, 0),
      `${fmt(cold.bareNodeMedianMs, 0)} bare node`,
      fmt(b.ratioToBareNode),
      'lower',
    ]);
  }
  rows.push([
    'peak RSS of the local runtime under 50 clients (MiB)',
    fmt(load.memory.peakRssMbUnder50Clients, 0),
    `${fmt(load.memory.idleRssMb, 0)} idle`,
    fmt(load.memory.peakRssMbUnder50Clients / load.memory.idleRssMb),
    '',
  ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r, n) => {
      const line = r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ');
      return n === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const load = await measureLoad();
  const economy = await measureTokenEconomy(
    QUICK ? { ...DEFAULT_ECONOMY, requests: 1_000 } : DEFAULT_ECONOMY,
    log,
  );
  const failedEconomy = [...economy.scenarios, { name: 'naive client', counts: economy.naive }].filter(
    (sc) => sc.counts.non200 > 0,
  );
  if (failedEconomy.length > 0) {
    throw new Error(
      `token economy: requests not answered 200 (${failedEconomy.map((sc) => `${sc.name}: ${sc.counts.non200}`).join('; ')})`,
    );
  }
  const cold = await measureColdStart(root, QUICK ? 3 : 7, log);
  const results = {
    generatedAt: new Date().toISOString(),
    machine: { node: process.version, platform: process.platform, arch: process.arch },
    quick: QUICK,
    findSlots: {
      rounds: ROUNDS,
      latency: load.latency.map(({ tenant, epicDelayMs, clients, route, direct, suspect }) => ({
        tenant,
        epicDelayMs,
        clients,
        route,
        direct,
        suspect,
        p50Ratio: route.p50Ms / direct.p50Ms,
        p99Ratio: route.p99Ms / direct.p99Ms,
        p50AddedMs: route.p50Ms - direct.p50Ms,
      })),
      throughput: {
        ...load.throughput,
        connections: THROUGHPUT.connections,
        ratio: load.throughput.route.rps / load.throughput.direct.rps,
      },
    },
    tokenEconomy: economy,
    coldStart: cold,
    memory: load.memory,
    durationSeconds: (Date.now() - started) / 1000,
  };
  const file = join(here, 'results.json');
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(
    `\n${table(load, economy, cold)}\n\nWritten to bench/results.json in ${results.durationSeconds.toFixed(0)} s.\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
