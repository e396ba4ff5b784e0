import type { Clock } from '../../functions/core/clock.js';
import type { AppLogger, AppMetrics } from '../../functions/core/observability/powertools.js';
import type { CachedToken, TokenStore } from '../../functions/core/tokens/types.js';

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Records metric calls so tests can assert on them. */
export class RecordingMetrics implements AppMetrics {
  readonly calls: Array<{ name: string; value: number; dimensions: Record<string, string> }> = [];
  count(name: string, dimensions: Record<string, string> = {}, value = 1): void {
    this.calls.push({ name, value, dimensions });
  }
  gauge(name: string, _unit: string, value: number, dimensions: Record<string, string> = {}): void {
    this.calls.push({ name, value, dimensions });
  }
  total(name: string, dims: Record<string, string> = {}): number {
    return this.calls
      .filter((c) => c.name === name && Object.entries(dims).every(([k, v]) => c.dimensions[k] === v))
      .reduce((sum, c) => sum + c.value, 0);
  }
}

/** A logger that keeps entries in memory (for unit tests that assert on message codes). */
export class MemoryLogger implements AppLogger {
  readonly entries: Array<{ level: string; code: string; fields: unknown[] }> = [];
  private push(level: string, code: unknown, fields: unknown[]) {
    this.entries.push({ level, code: String(code), fields });
  }
  debug = (code: unknown, ...fields: unknown[]) => this.push('debug', code, fields);
  info = (code: unknown, ...fields: unknown[]) => this.push('info', code, fields);
  warn = (code: unknown, ...fields: unknown[]) => this.push('warn', code, fields);
  error = (code: unknown, ...fields: unknown[]) => this.push('error', code, fields);
  codes(): string[] {
    return this.entries.map((e) => e.code);
  }
  text(): string {
    return JSON.stringify(this.entries);
  }
}

/** An in-memory token store with counters and switchable faults. */
export class MemoryTokenStore implements TokenStore {
  readonly data = new Map<string, string>();
  reads = 0;
  writes = 0;
  failReads: Error | undefined;
  failWrites: Error | undefined;
  async read(tenant: string): Promise<CachedToken | undefined> {
    this.reads++;
    if (this.failReads) throw this.failReads;
    const text = this.data.get(tenant);
    return text ? (JSON.parse(text) as CachedToken) : undefined;
  }
  async write(token: CachedToken): Promise<void> {
    this.writes++;
    if (this.failWrites) throw this.failWrites;
    this.data.set(token.tenant, JSON.stringify(token));
  }
}

export const noSleep = async (): Promise<void> => {};
