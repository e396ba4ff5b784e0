import type { Clock } from '../clock.js';
import type { TenantConfig } from '../config/tenants.js';
import type { FhirClient, FhirResource } from '../epic/fhir-client.js';
import { AppError } from '../errors/app-error.js';
import { isJsonObject } from '../values.js';
import type { ProviderQuery } from './validate-request.js';

/**
 * Resolves the provider a caller named (by name, NPI or id) to exactly one R4 Practitioner.
 * None is 404 `provider_not_found`; several is 409 `ambiguous_provider` listing the candidates.
 */

export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
export const PRACTITIONER_READ_API = 'Practitioner.Read (R4)';
export const PRACTITIONER_SEARCH_API = 'Practitioner.Search (R4)';

export interface ResolvedProvider {
  /** R4 Practitioner id. */
  id: string;
  /** Epic's `name.text` (e.g. "Jane Smith, MD"), else "Given Family". */
  name: string;
  npi?: string;
  /** Lower-cased, accent-free family name and given names, for matching participants by name. */
  family?: string;
  given: string[];
}

export interface ProviderCandidate {
  id: string;
  name: string;
  npi: string | null;
}

export class ProviderNotFoundError extends AppError {
  constructor(tenant: string, query: ProviderQuery) {
    const what = describeQuery(query);
    super(
      'provider_not_found',
      `No practitioner matches ${what} in tenant "${tenant}". Check the spelling, or name the provider by NPI or Practitioner id.`,
      { details: { field: 'provider', tenant, [query.kind]: queryValue(query) } },
    );
  }
}

export class AmbiguousProviderError extends AppError {
  readonly candidates: ProviderCandidate[];
  constructor(tenant: string, query: ProviderQuery, candidates: ProviderCandidate[]) {
    super(
      'ambiguous_provider',
      `${candidates.length} practitioners match ${describeQuery(query)} in tenant "${tenant}". ` +
        'Choose one and send its "provider.id" (or "provider.npi").',
      { details: { field: 'provider', tenant, candidates } },
    );
    this.candidates = candidates;
  }
}

function queryValue(query: ProviderQuery): string {
  return query.kind === 'name' ? query.name : query.kind === 'id' ? query.id : query.npi;
}

function describeQuery(query: ProviderQuery): string {
  return query.kind === 'name'
    ? `the name "${query.name}"`
    : query.kind === 'id'
      ? `the Practitioner id "${query.id}"`
      : `the NPI ${query.npi}`;
}

type Obj = Record<string, unknown>;
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

/** Lower case, accents and punctuation removed, single spaces. */
export function normalizeName(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Titles and credentials that are not part of a person's name. */
const HONORIFICS = new Set([
  'dr',
  'doctor',
  'prof',
  'mr',
  'mrs',
  'ms',
  'md',
  'do',
  'np',
  'pa',
  'pac',
  'rn',
  'phd',
  'dds',
  'dmd',
  'od',
  'dpm',
  'aprn',
  'fnp',
  'cnm',
  'jr',
  'sr',
  'ii',
  'iii',
]);

export function nameTokens(value: string): string[] {
  return normalizeName(value)
    .split(' ')
    .filter((t) => t.length > 0 && !HONORIFICS.has(t));
}

export interface ParsedName {
  family: string;
  given?: string;
}

/** "Jane Smith" / "Dr. Jane Smith, MD" / "Smith, Jane" / "Smith" -> family and first given name. */
export function parseProviderName(raw: string): ParsedName | undefined {
  const comma = raw.indexOf(',');
  if (comma >= 0) {
    const family = nameTokens(raw.slice(0, comma));
    const given = nameTokens(raw.slice(comma + 1));
    if (family.length > 0) {
      // "Smith, Jane" (or "Jane Smith, MD", where the part after the comma is only credentials)
      if (given.length > 0) return { family: family.join(' '), given: given[0]! };
      if (family.length === 1) return { family: family[0]! };
      return { family: family[family.length - 1]!, given: family[0]! };
    }
  }
  const tokens = nameTokens(raw);
  if (tokens.length === 0) return undefined;
  if (tokens.length === 1) return { family: tokens[0]! };
  return { family: tokens[tokens.length - 1]!, given: tokens[0]! };
}

/** Picks the official (else usual, else first) HumanName of a Practitioner. */
function humanName(practitioner: Obj): { text: string; family?: string; given: string[] } {
  const names = Array.isArray(practitioner.name) ? practitioner.name.filter(isJsonObject) : [];
  const chosen =
    names.find((n) => n.use === 'official') ?? names.find((n) => n.use === 'usual') ?? names[0] ?? {};
  const family = typeof chosen.family === 'string' ? chosen.family : undefined;
  const given = strings(chosen.given);
  const built = [...given, family].filter(Boolean).join(' ');
  const text = (typeof chosen.text === 'string' && chosen.text.trim()) || built;
  return { text, ...(family ? { family } : {}), given };
}

export function npiOf(resource: Obj): string | undefined {
  const ids = Array.isArray(resource.identifier) ? resource.identifier.filter(isJsonObject) : [];
  const npi = ids.find((i) => i.system === NPI_SYSTEM && typeof i.value === 'string');
  return npi ? (npi.value as string) : undefined;
}

/** A Practitioner resource as a resolved provider (undefined when it has no id). */
export function toResolvedProvider(practitioner: unknown): ResolvedProvider | undefined {
  if (!isJsonObject(practitioner) || practitioner.resourceType !== 'Practitioner') return undefined;
  if (typeof practitioner.id !== 'string' || practitioner.id.length === 0) return undefined;
  const name = humanName(practitioner);
  const npi = npiOf(practitioner);
  const text = name.text || practitioner.id;
  let family = name.family ? normalizeName(name.family) : undefined;
  let given = name.given.map(normalizeName).filter(Boolean);
  if (!family && name.text) {
    const parsed = parseProviderName(name.text);
    family = parsed?.family;
    given = parsed?.given ? [parsed.given] : [];
  }
  return {
    id: practitioner.id,
    name: text,
    ...(npi ? { npi } : {}),
    ...(family ? { family } : {}),
    given,
  };
}

/** True when a person's name (as Epic displays it) is the resolved provider's name. */
export function nameMatches(provider: ResolvedProvider, display: string): boolean {
  if (!provider.family) return false;
  const wanted = new Set(nameTokens(display));
  const family = provider.family.split(' ');
  if (!family.every((t) => wanted.has(t))) return false;
  const firstGiven = provider.given[0]?.split(' ')[0];
  return (
    firstGiven === undefined ||
    wanted.has(firstGiven) ||
    [...wanted].some((t) => t.length === 1 && firstGiven.startsWith(t))
  );
}

function matchesParsed(provider: ResolvedProvider, parsed: ParsedName): boolean {
  if (provider.family !== parsed.family) return false;
  if (parsed.given === undefined) return true;
  return provider.given.some((g) => g.split(' ').some((part) => part === parsed.given));
}

/** A small TTL cache of resolutions, per tenant and query. */
export interface ProviderCache {
  get(key: string): ResolvedProvider | undefined;
  set(key: string, value: ResolvedProvider): void;
}

export function createProviderCache(
  clock: Clock,
  options: { ttlMs?: number; maxEntries?: number } = {},
): ProviderCache {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const maxEntries = options.maxEntries ?? 500;
  const entries = new Map<string, { value: ResolvedProvider; expires: number }>();
  return {
    get(key) {
      const hit = entries.get(key);
      if (!hit) return undefined;
      if (hit.expires <= clock.now()) {
        entries.delete(key);
        return undefined;
      }
      return hit.value;
    },
    set(key, value) {
      entries.delete(key);
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(key, { value, expires: clock.now() + ttlMs });
    },
  };
}

export function providerCacheKey(tenant: string, query: ProviderQuery): string {
  const value = query.kind === 'name' ? normalizeName(query.name) : queryValue(query);
  return `${tenant}\u0000${query.kind}\u0000${value}`;
}

function bundlePractitioners(bundle: FhirResource | undefined): ResolvedProvider[] {
  const entries = bundle && Array.isArray(bundle.entry) ? bundle.entry.filter(isJsonObject) : [];
  const seen = new Set<string>();
  const out: ResolvedProvider[] = [];
  for (const entry of entries) {
    const search = isJsonObject(entry.search) ? entry.search : {};
    if (search.mode === 'outcome' || search.mode === 'include') continue;
    const provider = toResolvedProvider(entry.resource);
    if (provider && !seen.has(provider.id)) {
      seen.add(provider.id);
      out.push(provider);
    }
  }
  return out;
}

function decide(tenant: string, query: ProviderQuery, found: ResolvedProvider[]): ResolvedProvider {
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new ProviderNotFoundError(tenant, query);
  throw new AmbiguousProviderError(
    tenant,
    query,
    found.slice(0, 20).map((p) => ({ id: p.id, name: p.name, npi: p.npi ?? null })),
  );
}

/** The R4 Practitioner search URL for a name, or undefined when the name has no usable part. */
export function nameSearchUrl(tenant: TenantConfig, parsed: ParsedName): string {
  const params = new URLSearchParams({ family: parsed.family });
  if (parsed.given) params.set('given', parsed.given);
  return `${tenant.fhirBaseUrl}/Practitioner?${params.toString()}`;
}

/**
 * Resolves `query` with R4 Practitioner read/search, using and filling `cache`.
 *
 * @throws ProviderNotFoundError (404), AmbiguousProviderError (409), or the FHIR client's errors.
 */
export async function resolveProvider(
  query: ProviderQuery,
  tenant: TenantConfig,
  fhir: FhirClient,
  options: { cache?: ProviderCache; deadline?: number } = {},
): Promise<ResolvedProvider> {
  const key = providerCacheKey(tenant.id, query);
  const cached = options.cache?.get(key);
  if (cached) return cached;
  const resolved = await lookUp(query, tenant, fhir, options.deadline);
  options.cache?.set(key, resolved);
  return resolved;
}

async function lookUp(
  query: ProviderQuery,
  tenant: TenantConfig,
  fhir: FhirClient,
  deadline: number | undefined,
): Promise<ResolvedProvider> {
  const base = { tenant: tenant.id, method: 'GET' as const, ...(deadline ? { deadline } : {}) };
  if (query.kind === 'id') {
    const res = await fhir.request({
      ...base,
      api: PRACTITIONER_READ_API,
      url: `${tenant.fhirBaseUrl}/Practitioner/${encodeURIComponent(query.id)}`,
      expect: ['Practitioner'],
      acceptStatuses: [404, 410],
    });
    const provider = res.status === 200 ? toResolvedProvider(res.resource) : undefined;
    return decide(tenant.id, query, provider ? [provider] : []);
  }
  if (query.kind === 'npi') {
    const res = await fhir.request({
      ...base,
      api: PRACTITIONER_SEARCH_API,
      url: `${tenant.fhirBaseUrl}/Practitioner?${new URLSearchParams({ identifier: `${NPI_SYSTEM}|${query.npi}` })}`,
      expect: ['Bundle'],
    });
    // Keep only exact NPI matches: a server that ignores the system must not widen the answer.
    const found = bundlePractitioners(res.resource).filter((p) => p.npi === undefined || p.npi === query.npi);
    return decide(tenant.id, query, found);
  }
  const parsed = parseProviderName(query.name);
  if (!parsed) throw new ProviderNotFoundError(tenant.id, query);
  const res = await fhir.request({
    ...base,
    api: PRACTITIONER_SEARCH_API,
    url: nameSearchUrl(tenant, parsed),
    expect: ['Bundle'],
  });
  const found = bundlePractitioners(res.resource);
  // FHIR string search matches prefixes ("Smith" finds "Smithson"): prefer exact name matches.
  const exact = found.filter((p) => matchesParsed(p, parsed));
  return decide(tenant.id, query, exact.length > 0 ? exact : found);
}
