import type { ServiceTypeConfig, TenantConfig, TenantRegistry } from '../config/tenants.js';
import { InvalidInputError } from '../errors/app-error.js';
import { isJsonObject } from '../values.js';

/**
 * Validation of a `POST /epic/find-slots` body (API.md). Every rejection is a 400 `invalid_input`
 * naming the field and saying what is allowed, or a 404 `unknown_tenant`; nothing reaches Epic
 * before this has passed.
 */

/** How the caller named the provider: exactly one of these. */
export type ProviderQuery =
  | { kind: 'name'; name: string }
  | { kind: 'id'; id: string }
  | { kind: 'npi'; npi: string };

export interface FindSlotsRequest {
  tenant: TenantConfig;
  /** As sent by the caller (ISO 8601 with offset), forwarded to Epic unchanged. */
  start: string;
  end: string;
  startMs: number;
  endMs: number;
  provider?: ProviderQuery;
  locationId?: string;
  serviceType?: { system: string; code: string; display?: string };
  patientId?: string;
  limit: number;
}

export const FIND_SLOTS_FIELDS = [
  'tenant',
  'start',
  'end',
  'provider',
  'location',
  'serviceType',
  'patient',
  'limit',
] as const;

export const MAX_WINDOW_DAYS = 31;
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
export const MAX_PROVIDER_NAME = 100;
/** FHIR `id`: 1-64 of A-Z a-z 0-9 - . (and not only dots, which would be a path segment like ".."). */
export const FHIR_ID_PATTERN = /^(?!\.+$)[A-Za-z0-9\-.]{1,64}$/;

/** FHIR dateTime with a time: seconds are required (fractions allowed), and so is the offset. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;
/** A date-time that would be valid but for its missing seconds, e.g. "2026-12-07T08:00Z". */
const WITHOUT_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/;

type Obj = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function onlyKeys(value: Obj, allowed: readonly string[], path: string): void {
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40)));
    throw new InvalidInputError(
      unknown.length === 1 ? [path, unknown[0]!.slice(0, 40)].filter(Boolean).join('.') : path || 'body',
      `Unknown field${unknown.length > 1 ? 's' : ''} ${shown.join(', ')}${path ? ` in ${path}` : ''}; allowed: ${allowed.join(', ')}.`,
      { allowed: [...allowed] },
    );
  }
}

/**
 * Luhn check of an NPI: the check digit is computed over "80840" + the first 9 digits (the NPI's
 * ISO card-issuer prefix), as CMS specifies.
 */
export function isValidNpi(npi: string): boolean {
  if (!/^\d{10}$/.test(npi)) return false;
  const digits = `80840${npi}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Milliseconds since the epoch of an ISO 8601 date-time with seconds and an offset, or undefined. */
export function parseOffsetDateTime(value: string): number | undefined {
  const m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, , oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  if (oh !== undefined && (Number(oh) > 23 || Number(om) > 59)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function dateTime(body: Obj, field: 'start' | 'end'): { text: string; ms: number } {
  const value = body[field];
  const allowed =
    'an ISO 8601 date-time with an offset, e.g. "2026-12-07T08:00:00Z" or "2026-12-07T08:00:00-05:00"';
  if (value === undefined) throw new InvalidInputError(field, `"${field}" is required: ${allowed}.`);
  if (typeof value !== 'string')
    throw new InvalidInputError(field, `"${field}" must be ${allowed}; got ${describe(value)}.`);
  if (WITHOUT_SECONDS.test(value)) {
    throw new InvalidInputError(
      field,
      `"${field}" must include seconds (FHIR dateTime requires them with a time, and Epic refuses the ` +
        `request otherwise): ${allowed}.`,
    );
  }
  const ms = value.length <= 40 ? parseOffsetDateTime(value) : undefined;
  if (ms === undefined) {
    throw new InvalidInputError(field, `"${field}" must be ${allowed} (a real calendar date and time).`);
  }
  return { text: value, ms };
}

function fhirId(value: unknown, field: string, what: string): string {
  if (typeof value !== 'string' || !FHIR_ID_PATTERN.test(value)) {
    throw new InvalidInputError(
      field,
      `"${field}" must be ${what}: a FHIR id of 1-64 letters, digits, "-" or "."; got ${typeof value === 'string' ? 'an invalid string' : describe(value)}.`,
    );
  }
  return value;
}

function provider(value: unknown): ProviderQuery {
  const shape =
    'an object with exactly one of "name" (1-100 characters), "id" (FHIR id) or "npi" (10 digits)';
  if (!isJsonObject(value))
    throw new InvalidInputError('provider', `"provider" must be ${shape}; got ${describe(value)}.`);
  onlyKeys(value, ['name', 'id', 'npi'], 'provider');
  const given = (['name', 'id', 'npi'] as const).filter((k) => value[k] !== undefined);
  if (given.length !== 1) {
    throw new InvalidInputError(
      'provider',
      `"provider" must be ${shape}; got ${given.length === 0 ? 'none' : given.join(' and ')}.`,
    );
  }
  if (value.name !== undefined) {
    const name = value.name;
    const ok =
      typeof name === 'string' &&
      name.trim().length > 0 &&
      name.length <= MAX_PROVIDER_NAME &&
      // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
      !/[\u0000-\u001f\u007f]/.test(name) &&
      /\p{L}/u.test(name);
    if (!ok) {
      throw new InvalidInputError(
        'provider.name',
        `"provider.name" must be a name of 1-${MAX_PROVIDER_NAME} characters with letters and no control characters, e.g. "Jane Smith", "Smith, Jane" or "Smith".`,
      );
    }
    return { kind: 'name', name: (name as string).trim().replace(/\s+/g, ' ') };
  }
  if (value.id !== undefined)
    return { kind: 'id', id: fhirId(value.id, 'provider.id', "the provider's FHIR Practitioner id") };
  const npi = value.npi;
  if (typeof npi !== 'string' || !/^\d{10}$/.test(npi)) {
    throw new InvalidInputError(
      'provider.npi',
      `"provider.npi" must be a string of exactly 10 digits, e.g. "1234567893".`,
    );
  }
  if (!isValidNpi(npi)) {
    throw new InvalidInputError(
      'provider.npi',
      `"provider.npi" ${npi} has an invalid check digit; check the NPI (Luhn over "80840" + its first 9 digits).`,
    );
  }
  return { kind: 'npi', npi };
}

function serviceType(value: unknown, tenant: TenantConfig): FindSlotsRequest['serviceType'] {
  const { serviceTypeSystem: system, serviceTypes } = tenant.scheduling;
  const codes = serviceTypes.map((s) => s.code);
  const listed = serviceTypes
    .map((s: ServiceTypeConfig) => (s.display ? `${s.code} (${s.display})` : s.code))
    .join(', ');
  if (!isJsonObject(value)) {
    throw new InvalidInputError(
      'serviceType',
      `"serviceType" must be an object {"code"} with one of ${listed}; got ${describe(value)}.`,
      {
        allowed: codes,
      },
    );
  }
  onlyKeys(value, ['code', 'system'], 'serviceType');
  if (value.system !== undefined && value.system !== system) {
    throw new InvalidInputError(
      'serviceType.system',
      `"serviceType.system" must be tenant "${tenant.id}"'s coding system "${system}" (or be left out).`,
      { allowed: [system] },
    );
  }
  const found = typeof value.code === 'string' ? serviceTypes.find((s) => s.code === value.code) : undefined;
  if (!found) {
    throw new InvalidInputError(
      'serviceType.code',
      `"serviceType.code" must be one of tenant "${tenant.id}"'s bookable codes: ${listed}.`,
      { allowed: codes },
    );
  }
  return found.display ? { system, code: found.code, display: found.display } : { system, code: found.code };
}

function idObject(value: unknown, field: 'location' | 'patient', what: string): string {
  if (!isJsonObject(value))
    throw new InvalidInputError(
      field,
      `"${field}" must be an object {"id"} with ${what}; got ${describe(value)}.`,
    );
  onlyKeys(value, ['id'], field);
  return fhirId(value.id, `${field}.id`, what);
}

/**
 * Validates a parsed JSON body against API.md's find-slots request.
 *
 * @throws InvalidInputError (400 `invalid_input`, `details.field` names the field) or
 *   UnknownTenantError (404 `unknown_tenant`).
 */
export function validateFindSlotsRequest(body: unknown, tenants: TenantRegistry): FindSlotsRequest {
  if (!isJsonObject(body)) throw new InvalidInputError('body', 'The request body must be a JSON object.');
  onlyKeys(body, FIND_SLOTS_FIELDS, '');
  const tenantId = body.tenant;
  if (typeof tenantId !== 'string' || tenantId.length === 0 || tenantId.length > 40) {
    throw new InvalidInputError('tenant', `"tenant" is required: ${tenants.describeIds()}.`);
  }
  const tenant = tenants.get(tenantId);

  const start = dateTime(body, 'start');
  const end = dateTime(body, 'end');
  if (end.ms <= start.ms) throw new InvalidInputError('end', '"end" must be after "start".');
  if (end.ms - start.ms > MAX_WINDOW_DAYS * 86_400_000) {
    throw new InvalidInputError(
      'end',
      `The window from "start" to "end" must be at most ${MAX_WINDOW_DAYS} days.`,
    );
  }

  const request: FindSlotsRequest = {
    tenant,
    start: start.text,
    end: end.text,
    startMs: start.ms,
    endMs: end.ms,
    limit: DEFAULT_LIMIT,
  };
  if (body.provider !== undefined) request.provider = provider(body.provider);
  if (body.location !== undefined)
    request.locationId = idObject(body.location, 'location', "the department/location's FHIR id");
  if (body.serviceType !== undefined) request.serviceType = serviceType(body.serviceType, tenant);
  if (body.patient !== undefined)
    request.patientId = idObject(body.patient, 'patient', "the patient's FHIR id");
  if (body.limit !== undefined) {
    const limit = body.limit;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new InvalidInputError('limit', `"limit" must be a whole number from 1 to ${MAX_LIMIT}.`);
    }
    request.limit = limit;
  }
  return request;
}
