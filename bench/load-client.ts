import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

/**
 * The load generator, run in its own process (so it does not share the event loop of the server
 * it measures). Reads one JSON job from the LOAD_JOB environment variable (not argv, which other
 * local users can see), prints one JSON result line.
 *
 * - `latency`: `clients` closed-loop clients, each sending the next request as soon as the last
 *   answered, over keep-alive connections; a warm-up, then latencies recorded for `durationMs`
 *   (or until `maxRequests`).
 * - `throughput`: autocannon at `connections` for `durationSeconds`.
 */
export type LoadJob =
  | {
      mode: 'latency';
      url: string;
      body: string;
      headers: Record<string, string>;
      clients: number;
      warmupMs: number;
      durationMs: number;
      maxRequests: number;
    }
  | {
      mode: 'throughput';
      url: string;
      body: string;
      headers: Record<string, string>;
      connections: number;
      durationSeconds: number;
    };

export interface LatencyResult {
  /** 2xx answers measured (the latency samples). */
  requests: number;
  errors: number;
  /** Answers with a status outside 2xx: counted, not sampled. */
  non2xx: number;
  /** Mean response body size of the 2xx answers (bytes read, not parsed, on every target). */
  meanResponseBytes: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  rps: number;
}

export interface ThroughputResult {
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/**
 * One request; resolves with the status and the body's byte count. Every target gets the same
 * client-side work: the body is read to the end and counted, never decoded or parsed.
 */
function once(
  agent: Agent,
  url: URL,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function latency(job: Extract<LoadJob, { mode: 'latency' }>): Promise<LatencyResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.clients });
  const url = new URL(job.url);
  const samples: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let bytes = 0;
  let sent = 0;
  const warmEnd = performance.now() + job.warmupMs;
  let end = Number.POSITIVE_INFINITY;
  let measureStart = 0;
  const client = async () => {
    for (;;) {
      const now = performance.now();
      if (now >= end || sent >= job.maxRequests) return;
      const measuring = now >= warmEnd;
      if (measuring && measureStart === 0) {
        measureStart = now;
        end = now + job.durationMs;
      }
      if (measuring) sent++;
      const t0 = performance.now();
      try {
        const reply = await once(agent, url, job.body, job.headers);
        const ms = performance.now() - t0;
        if (measuring && (reply.status < 200 || reply.status >= 300)) non2xx++;
        else if (measuring) {
          samples.push(ms);
          bytes += reply.bytes;
        }
      } catch {
        if (measuring) errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.clients }, client));
  const elapsed = (performance.now() - measureStart) / 1000;
  agent.destroy();
  const sorted = samples.sort((a, b) => a - b);
  return {
    requests: samples.length,
    errors,
    non2xx,
    meanResponseBytes: bytes / Math.max(1, samples.length),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length),
    rps: samples.length / elapsed,
  };
}

async function throughput(job: Extract<LoadJob, { mode: 'throughput' }>): Promise<ThroughputResult> {
  const result = await autocannon({
    url: job.url,
    method: 'POST',
    headers: job.headers,
    body: job.body,
    connections: job.connections,
    duration: job.durationSeconds,
  });
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env.LOAD_JOB ?? '{}') as LoadJob;
  const result = job.mode === 'latency' ? await latency(job) : await throughput(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.env.LOAD_JOB) {
  main().catch((error: unknown) => {
    process.stderr.write(`load-client failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
