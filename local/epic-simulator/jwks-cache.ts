import type { Clock } from '../../functions/core/clock.js';

/** Epic keeps a fetched JWK Set at most 29 hours, or less when `Cache-Control` says so. */
export const MAX_JWKS_CACHE_SECONDS = 29 * 60 * 60;
const FETCH_TIMEOUT_MS = 5_000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A JWK as fetched: untrusted JSON, checked member by member where it is used. */
export type FetchedJwk = Record<string, unknown>;

export type JwksLookup = { ok: true; keys: FetchedJwk[] } | { ok: false; reason: string };

interface CacheEntry {
  keys: FetchedJwk[];
  expiresAtMs: number;
}

export interface JwksCacheDeps {
  fetch: typeof fetch;
  clock: Clock;
  /** Called once per HTTP fetch attempt (for `stats().jwksFetches`). */
  onFetch: () => void;
}

/** True for an http(s) URL on a loopback host: the only JWK Set URLs the simulator will fetch. */
export function isLoopbackUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (
      (parsed.protocol === 'http:' || parsed.protocol === 'https:') && LOOPBACK_HOSTS.has(parsed.hostname)
    );
  } catch {
    return false;
  }
}

/**
 * Seconds a JWK Set response may be cached: `max-age` capped at 29 hours, 0 for `no-store` /
 * `no-cache`, 29 hours when the header says nothing.
 */
export function cacheSeconds(cacheControl: string | null): number {
  if (cacheControl === null) return MAX_JWKS_CACHE_SECONDS;
  let maxAge: number | undefined;
  for (const directive of cacheControl.toLowerCase().split(',')) {
    const [name = '', value] = directive.trim().split('=', 2);
    if (name === 'no-store' || name === 'no-cache') return 0;
    if (name === 'max-age' && value !== undefined && /^\d+$/.test(value.trim())) {
      maxAge = Number(value.trim());
    }
  }
  return Math.min(maxAge ?? MAX_JWKS_CACHE_SECONDS, MAX_JWKS_CACHE_SECONDS);
}

/**
 * One organization's cache of its clients' JWK Sets, keyed by URL, as Epic keeps it: fetched on
 * first use, kept per `Cache-Control` (measured on the simulator clock), re-fetched on demand.
 * Concurrent fetches of one URL share a single HTTP request.
 */
export class JwksCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<JwksLookup>>();

  constructor(private readonly deps: JwksCacheDeps) {}

  /** The cached keys while fresh, else a fetch; `fetched` says whether this call went to the URL. */
  async get(url: string): Promise<{ lookup: JwksLookup; fetched: boolean }> {
    const entry = this.entries.get(url);
    if (entry !== undefined && this.deps.clock.now() < entry.expiresAtMs) {
      return { lookup: { ok: true, keys: entry.keys }, fetched: false };
    }
    return { lookup: await this.refresh(url), fetched: true };
  }

  /** Fetches the URL now (joining a fetch already under way). A failure keeps the old entry. */
  refresh(url: string): Promise<JwksLookup> {
    const running = this.inflight.get(url);
    if (running !== undefined) return running;
    const fetching = this.load(url).finally(() => this.inflight.delete(url));
    this.inflight.set(url, fetching);
    return fetching;
  }

  clear(): void {
    this.entries.clear();
  }

  private async load(url: string): Promise<JwksLookup> {
    if (!isLoopbackUrl(url)) {
      return {
        ok: false,
        reason: 'JWK Set URL is not a loopback http(s) URL; the simulator fetches only loopback',
      };
    }
    this.deps.onFetch();
    let response: Response;
    try {
      response = await this.deps.fetch(url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch (error) {
      const name = error instanceof Error ? error.name : 'error';
      return { ok: false, reason: `JWK Set URL unreachable (${name})` };
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      return { ok: false, reason: `JWK Set URL answered HTTP ${response.status}` };
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      return { ok: false, reason: 'JWK Set URL did not answer JSON' };
    }
    const keys = typeof body === 'object' && body !== null ? (body as { keys?: unknown }).keys : undefined;
    if (!Array.isArray(keys)) {
      return { ok: false, reason: 'JWK Set has no "keys" array' };
    }
    const jwks = keys.filter((key): key is FetchedJwk => typeof key === 'object' && key !== null);
    const seconds = cacheSeconds(response.headers.get('cache-control'));
    this.entries.set(url, { keys: jwks, expiresAtMs: this.deps.clock.now() + seconds * 1000 });
    return { ok: true, keys: jwks };
  }
}
