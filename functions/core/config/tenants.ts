import { ConfigError, UnknownTenantError } from '../errors/app-error.js';
import { isHttpsOrLoopbackHttp, isJsonObject } from '../values.js';

/** One health system's Epic (see `API.md`, "Tenants file"). */
export interface TenantConfig {
  id: string;
  name: string;
  /** R4 FHIR base, no trailing slash. */
  fhirBaseUrl: string;
  /** STU3 FHIR base, no trailing slash; defaults to fhirBaseUrl with R4 -> STU3. */
  stu3BaseUrl: string;
  /** Token endpoint; undefined = discover from `<fhirBaseUrl>/.well-known/smart-configuration`. */
  tokenUrl?: string;
  /** Sent as the token request's `scope` when set. */
  scope?: string;
  scheduling: SchedulingConfig;
}

export interface ServiceTypeConfig {
  code: string;
  display?: string;
}

export interface SchedulingConfig {
  serviceTypeSystem: string;
  serviceTypes: ServiceTypeConfig[];
  providerBasedScheduling: boolean;
}

export interface TenantsFile {
  tenants: TenantConfig[];
}

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;

type Obj = Record<string, unknown>;

function checkKeys(value: Obj, allowed: readonly string[], path: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      problems.push(`${path}.${key}: unknown field (allowed: ${allowed.join(', ')})`);
  }
}

function httpUrl(value: unknown, path: string, problems: string[], required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    problems.push(`${path}: must be an absolute https:// (or loopback http://) URL`);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${path}: "${value}" is not a valid URL; give an absolute https:// URL`);
    return undefined;
  }
  if (!isHttpsOrLoopbackHttp(url)) {
    problems.push(`${path}: "${value}" must use https:// (plain http:// is allowed only on loopback)`);
    return undefined;
  }
  if (url.search || url.hash) {
    problems.push(`${path}: "${value}" must not carry a query or fragment`);
    return undefined;
  }
  return value.replace(/\/+$/, '');
}

function nonEmptyString(value: unknown, path: string, problems: string[], max = 200): string | undefined {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max) {
    problems.push(`${path}: must be a non-empty string of at most ${max} characters`);
    return undefined;
  }
  return value;
}

/** `.../FHIR/R4` -> `.../FHIR/STU3`, as `API.md` specifies. */
export function defaultStu3BaseUrl(fhirBaseUrl: string): string | undefined {
  const parts = fhirBaseUrl.split('/');
  if (parts[parts.length - 1] !== 'R4') return undefined;
  parts[parts.length - 1] = 'STU3';
  return parts.join('/');
}

function parseScheduling(value: unknown, path: string, problems: string[]): SchedulingConfig | undefined {
  if (!isJsonObject(value)) {
    problems.push(
      `${path}: must be an object with serviceTypeSystem, serviceTypes and providerBasedScheduling`,
    );
    return undefined;
  }
  checkKeys(value, ['serviceTypeSystem', 'serviceTypes', 'providerBasedScheduling'], path, problems);
  const system = value.serviceTypeSystem;
  if (typeof system !== 'string' || !/^(urn:oid:[0-9]+(\.[0-9]+)*|https?:\/\/\S+)$/.test(system)) {
    problems.push(
      `${path}.serviceTypeSystem: must be the organization's coding system, e.g. "urn:oid:1.2.840.114350.1.13.0.1.7.3.808267.11"`,
    );
  }
  const serviceTypes: ServiceTypeConfig[] = [];
  if (!Array.isArray(value.serviceTypes) || value.serviceTypes.length === 0) {
    problems.push(`${path}.serviceTypes: must be a non-empty array of {"code", "display"}`);
  } else {
    const seen = new Set<string>();
    value.serviceTypes.forEach((st, i) => {
      const p = `${path}.serviceTypes[${i}]`;
      if (!isJsonObject(st)) {
        problems.push(`${p}: must be an object {"code", "display"}`);
        return;
      }
      checkKeys(st, ['code', 'display'], p, problems);
      const code = nonEmptyString(st.code, `${p}.code`, problems, 64);
      if (st.display !== undefined) nonEmptyString(st.display, `${p}.display`, problems);
      if (code !== undefined) {
        if (seen.has(code)) problems.push(`${p}.code: "${code}" is listed twice`);
        seen.add(code);
        serviceTypes.push(typeof st.display === 'string' ? { code, display: st.display } : { code });
      }
    });
  }
  if (typeof value.providerBasedScheduling !== 'boolean') {
    problems.push(`${path}.providerBasedScheduling: must be true or false`);
  }
  if (typeof system !== 'string') return undefined;
  return {
    serviceTypeSystem: system,
    serviceTypes,
    providerBasedScheduling: value.providerBasedScheduling === true,
  };
}

function parseTenant(value: unknown, path: string, problems: string[]): TenantConfig | undefined {
  if (!isJsonObject(value)) {
    problems.push(`${path}: must be an object`);
    return undefined;
  }
  checkKeys(
    value,
    ['id', 'name', 'fhirBaseUrl', 'stu3BaseUrl', 'tokenUrl', 'scope', 'scheduling'],
    path,
    problems,
  );
  const id = value.id;
  if (typeof id !== 'string' || !TENANT_ID_PATTERN.test(id)) {
    problems.push(
      `${path}.id: ${JSON.stringify(id)} must match ${TENANT_ID_PATTERN} (lower-case letters, digits, dashes)`,
    );
  }
  const name = nonEmptyString(value.name, `${path}.name`, problems);
  const fhirBaseUrl = httpUrl(value.fhirBaseUrl, `${path}.fhirBaseUrl`, problems, true);
  let stu3BaseUrl = httpUrl(value.stu3BaseUrl, `${path}.stu3BaseUrl`, problems, false);
  if (stu3BaseUrl === undefined && value.stu3BaseUrl === undefined && fhirBaseUrl !== undefined) {
    stu3BaseUrl = defaultStu3BaseUrl(fhirBaseUrl);
    if (stu3BaseUrl === undefined) {
      problems.push(`${path}.stu3BaseUrl: required because fhirBaseUrl does not end in /R4`);
    }
  }
  const tokenUrl = httpUrl(value.tokenUrl, `${path}.tokenUrl`, problems, false);
  let scope: string | undefined;
  if (value.scope !== undefined) scope = nonEmptyString(value.scope, `${path}.scope`, problems, 2000);
  const scheduling = parseScheduling(value.scheduling, `${path}.scheduling`, problems);
  if (typeof id !== 'string' || !name || !fhirBaseUrl || !stu3BaseUrl || !scheduling) return undefined;
  return {
    id,
    name,
    fhirBaseUrl,
    stu3BaseUrl,
    ...(tokenUrl ? { tokenUrl } : {}),
    ...(scope ? { scope } : {}),
    scheduling,
  };
}

export interface ParseTenantsOptions {
  /**
   * Accept `{"tenants": []}`. A deployed environment may have no tenant yet (prod before its first
   * health system): its functions start and answer every tenant 404 `unknown_tenant`. Default
   * false: a local tenants file with no tenant is a mistake.
   */
  allowEmpty?: boolean;
}

/**
 * Validates a tenants file (already JSON-parsed). Throws one ConfigError listing every problem,
 * each naming its field, e.g. `tenants[1].fhirBaseUrl: ...`.
 */
export function parseTenantsFile(
  value: unknown,
  source = 'tenants file',
  options: ParseTenantsOptions = {},
): TenantsFile {
  const problems: string[] = [];
  if (!isJsonObject(value)) throw new ConfigError(source, ['(root): must be an object {"tenants": [...]}']);
  checkKeys(value, ['tenants'], '(root)', problems);
  if (!Array.isArray(value.tenants)) {
    const what = options.allowEmpty ? 'an array (it may be empty)' : 'a non-empty array';
    throw new ConfigError(source, [...problems, `tenants: must be ${what}`]);
  }
  if (value.tenants.length === 0 && !options.allowEmpty) {
    throw new ConfigError(source, [...problems, 'tenants: must be a non-empty array']);
  }
  const tenants: TenantConfig[] = [];
  const ids = new Set<string>();
  value.tenants.forEach((t, i) => {
    const tenant = parseTenant(t, `tenants[${i}]`, problems);
    if (!tenant) return;
    if (ids.has(tenant.id)) problems.push(`tenants[${i}].id: "${tenant.id}" is used by another tenant`);
    ids.add(tenant.id);
    tenants.push(tenant);
  });
  if (problems.length > 0) throw new ConfigError(source, problems);
  return { tenants };
}

/** Parses a tenants file from JSON text, reporting a JSON syntax error as a ConfigError. */
export function parseTenantsJson(
  text: string,
  source = 'tenants file',
  options: ParseTenantsOptions = {},
): TenantsFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(source, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseTenantsFile(parsed, source, options);
}

/** Lookup by id with a clear 404-class error. */
export class TenantRegistry {
  private readonly byId: Map<string, TenantConfig>;
  constructor(readonly tenants: readonly TenantConfig[]) {
    this.byId = new Map(tenants.map((t) => [t.id, t]));
  }
  ids(): string[] {
    return [...this.byId.keys()];
  }
  /**
   * The configured ids for a 4xx message (`one of the configured tenant ids: a, b`), or, in an
   * environment with no tenant yet, says so.
   */
  describeIds(): string {
    const ids = this.ids();
    return ids.length === 0
      ? 'no tenants are configured in this environment yet'
      : `one of the configured tenant ids: ${ids.join(', ')}`;
  }
  find(id: string): TenantConfig | undefined {
    return this.byId.get(id);
  }
  /** The tenant, or an UnknownTenantError (404 `unknown_tenant`). */
  get(id: string): TenantConfig {
    const tenant = this.byId.get(id);
    if (!tenant) throw new UnknownTenantError(id, this.ids());
    return tenant;
  }
}
