/**
 * STU3 `Appointment.$find`, run by a small stand-in for Epic's scheduling decision support
 * (Cadence). Behaviour, parameter by parameter (see README.md beside this file for the reasoning):
 *
 * - The body must be a `Parameters` resource with a `parameter` array whose entries have a `name`;
 *   anything else is HTTP 400 with 59105 (structural issue).
 * - `startTime`, `endTime` (`valueDateTime`) are required: missing -> 400 with 59108; not a FHIR
 *   dateTime (a time without seconds or zone included), or `endTime` not after `startTime` -> 400
 *   with 59111. A date without a time means the
 *   start of that UTC day (for `endTime`: the whole day is included).
 * - `serviceType` (`valueCodeableConcept`): a coding in the organization's OID system whose code the
 *   decision tree knows picks the visit type. Codings but no known one -> 59200 and no results. No
 *   `serviceType` -> the organization's default visit type, if configured, else 59200.
 * - `location-reference` (`valueReference`): an absolute `<STU3 base>/Location/<id>` restricts the
 *   search to that location; an unknown id there -> 59144 (fatal, no results); a relative or foreign
 *   reference -> 59109 and the parameter is ignored.
 * - `patient` (`resource`: Patient) adds the patient as a participant; `indications` and
 *   `time-of-day` are accepted (the basic rules engine does not use them).
 * - The organization's practitioner parameter (`practitionerParameterName`, `valueReference`) is
 *   honoured only with provider-based scheduling; otherwise it is ignored with 59109 like any other
 *   unknown parameter. A practitioner it cannot resolve -> 59144 (fatal, no results).
 * - A visit type with no provider templates (or none for the asked provider) -> 59134.
 * - Results: the open slots (consecutive slots when the visit type is longer than one slot) that lie
 *   inside [startTime, endTime), are not in the past, on schedules of providers with a template for
 *   the visit type; sorted by start. Nothing open -> only the outcome entry with 4101.
 * - Each result is a proposed Appointment with a new id on every call; slots, times and references
 *   are stable. References are absolute; slots are `contained` and referenced as `#id`.
 * - Any issue goes into one OperationOutcome in the last entry, `search.mode: "outcome"`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FhirRequestContext, FhirResponse } from '../fhir-backend.js';
import { hasFatal, issue, type OutcomeIssue, operationOutcome } from './outcomes.js';
import { NPI_SYSTEM } from './practitioners.js';
import type { SchedulingData, SimLocation, SimPractitioner, SimSchedule, SimVisitType } from './types.js';

export interface FindOptions {
  /** Makes the temporary appointment ids (default: random, Epic-style). */
  newAppointmentId?: () => string;
}

/** A random id in the style of Epic FHIR ids (`e` + base64url-ish characters + `3`). */
export function epicStyleId(): string {
  return `e${randomBytes(18).toString('base64url').replaceAll('_', '.')}3`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * FHIR dateTime: a date, or a date and time with seconds (fractions allowed) and a zone, both
 * required: FHIR's dateTime has no form with hours and minutes only, and Epic refuses one.
 */
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown, isEnd: boolean): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (DATE_ONLY.test(value)) {
    const ms = Date.parse(`${value}T00:00:00Z`);
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) return undefined;
    return isEnd ? ms + DAY : ms;
  }
  if (!DATE_TIME.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Epic writes instants without milliseconds. */
export function instant(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function compactTime(ms: number): string {
  return instant(ms).replace(/[-:]/g, '').replace(/Z$/, '').slice(0, 13);
}

export function slotId(scheduleId: string, startMs: number): string {
  return `slot-${scheduleId}-${compactTime(startMs)}`;
}

interface Candidate {
  schedule: SimSchedule;
  practitioner: SimPractitioner;
  location: SimLocation;
  slotStarts: number[];
  start: number;
  end: number;
}

interface PatientParticipant {
  reference?: string;
  display?: string;
}

function badRequest(issues: OutcomeIssue[]): FhirResponse {
  return { status: 400, body: operationOutcome(issues) };
}

function patientDisplay(resource: Obj): string | undefined {
  const names = resource.name;
  if (!Array.isArray(names)) return undefined;
  const first = names.find(isObj);
  if (!first) return undefined;
  if (typeof first.text === 'string' && first.text.trim() !== '') return first.text;
  const given = Array.isArray(first.given)
    ? first.given.filter((g): g is string => typeof g === 'string')
    : [];
  const family = typeof first.family === 'string' ? [first.family] : [];
  const parts = [...given, ...family];
  return parts.length > 0 ? parts.join(' ') : undefined;
}

const optionalInvalid = (name: string, why: string): OutcomeIssue =>
  issue('optionalInvalid', `Parameter "${name}" was ignored: ${why}.`, `Optional ${name} invalid: ${why}`);

export function appointmentFind(
  data: SchedulingData,
  body: unknown,
  ctx: FhirRequestContext,
  options: FindOptions = {},
): FhirResponse {
  const newId = options.newAppointmentId ?? epicStyleId;

  if (!isObj(body) || body.resourceType !== 'Parameters' || !Array.isArray(body.parameter)) {
    return badRequest([
      issue(
        'structure',
        'The $find body must be a FHIR Parameters resource: {"resourceType": "Parameters", "parameter": [...]}.',
      ),
    ]);
  }
  const entries = body.parameter;
  if (!entries.every((p) => isObj(p) && typeof p.name === 'string')) {
    return badRequest([issue('structure', 'Every Parameters.parameter entry needs a string "name".')]);
  }

  const issues: OutcomeIssue[] = [];
  const seen = new Map<string, Obj>();
  const practitionerParam = data.practitionerParameterName;
  const known = new Set([
    'startTime',
    'endTime',
    'serviceType',
    'location-reference',
    'patient',
    'indications',
    'time-of-day',
  ]);

  for (const p of entries as Obj[]) {
    const name = p.name as string;
    if (name === practitionerParam && !known.has(name)) {
      if (!data.providerBasedScheduling) {
        issues.push(
          optionalInvalid(name, 'provider-based scheduling is not configured for this organization'),
        );
        continue;
      }
    } else if (!known.has(name)) {
      issues.push(optionalInvalid(name, 'unknown parameter'));
      continue;
    }
    if (seen.has(name)) {
      issues.push(optionalInvalid(name, 'repeated; only the first value is used'));
      continue;
    }
    seen.set(name, p);
  }

  // Required window.
  for (const name of ['startTime', 'endTime'] as const) {
    if (!seen.has(name)) {
      return badRequest([
        issue('requiredMissing', `Required ${name} missing.`, `Required ${name} missing`),
        ...issues,
      ]);
    }
  }
  const start = parseDateTime(seen.get('startTime')?.valueDateTime, false);
  const end = parseDateTime(seen.get('endTime')?.valueDateTime, true);
  if (start === undefined || end === undefined) {
    const bad = start === undefined ? 'startTime' : 'endTime';
    return badRequest([
      issue(
        'requiredInvalid',
        `${bad} needs a valueDateTime such as 2026-12-07T08:00:00Z (a time needs seconds and a zone).`,
        `Required ${bad} invalid`,
      ),
      ...issues,
    ]);
  }
  if (end <= start) {
    return badRequest([
      issue('requiredInvalid', 'endTime must be after startTime.', 'Required endTime invalid'),
      ...issues,
    ]);
  }

  // Accepted optional inputs the basic rules engine does not use.
  const indications = seen.get('indications');
  if (indications && !isObj(indications.valueCodeableConcept)) {
    issues.push(optionalInvalid('indications', 'expected valueCodeableConcept'));
  }
  const timeOfDay = seen.get('time-of-day');
  if (timeOfDay && !isObj(timeOfDay.valueTiming)) {
    issues.push(optionalInvalid('time-of-day', 'expected valueTiming'));
  }

  // Patient.
  let patient: PatientParticipant | undefined;
  const patientParam = seen.get('patient');
  if (patientParam) {
    const resource = patientParam.resource;
    if (isObj(resource) && resource.resourceType === 'Patient') {
      const id = typeof resource.id === 'string' && resource.id !== '' ? resource.id : undefined;
      const display = patientDisplay(resource);
      patient = {
        ...(id === undefined ? {} : { reference: `${ctx.stu3Base}/Patient/${id}` }),
        ...(display === undefined ? {} : { display }),
      };
    } else {
      issues.push(optionalInvalid('patient', 'expected resource with a Patient'));
    }
  }

  // Location.
  let location: SimLocation | undefined;
  const locationParam = seen.get('location-reference');
  if (locationParam) {
    const ref = isObj(locationParam.valueReference) ? locationParam.valueReference.reference : undefined;
    const prefix = `${ctx.stu3Base}/Location/`;
    if (typeof ref === 'string' && ref.startsWith(prefix) && ref.length > prefix.length) {
      const id = ref.slice(prefix.length);
      location = data.locations.find((l) => l.id === id);
      if (!location) issues.push(issue('referenceNotFound', `Location "${id}" was not found.`));
    } else {
      issues.push(
        optionalInvalid(
          'location-reference',
          `expected valueReference.reference as an absolute URL ${prefix}<id>`,
        ),
      );
    }
  }

  // Practitioner hint (only reaches here with provider-based scheduling on).
  let hinted: SimPractitioner | undefined;
  const hintParam = practitionerParam ? seen.get(practitionerParam) : undefined;
  if (hintParam) {
    const value = hintParam.valueReference;
    if (!isObj(value) || (value.reference === undefined && value.identifier === undefined)) {
      issues.push(
        optionalInvalid(practitionerParam, 'expected valueReference with a reference or an NPI identifier'),
      );
    } else {
      hinted = resolvePractitioner(data.practitioners, value);
      if (!hinted) {
        issues.push(
          issue(
            'referenceNotFound',
            `Practitioner in "${practitionerParam}" was not found by STU3 id or NPI (ids differ between FHIR versions).`,
          ),
        );
      }
    }
  }

  // Decision tree: serviceType -> visit type.
  const visitType = determineVisitType(data, seen.get('serviceType'), issues);

  if (hasFatal(issues)) return bundle(ctx, [], issues);
  if (!visitType) {
    issues.push(issue('noResults'));
    return bundle(ctx, [], issues);
  }

  const withTemplates = visitType.providers.filter((id) => data.practitioners.some((p) => p.stu3Id === id));
  const pool = hinted ? withTemplates.filter((id) => id === hinted.stu3Id) : withTemplates;
  if (pool.length === 0) {
    const poolName = visitType.providerPool ?? `${visitType.display.toUpperCase()} PROVIDERS`;
    issues.push(
      issue(
        'processing',
        hinted
          ? `Not enough providers with templates in ${poolName} for ${visitType.display.toUpperCase()}: ${hinted.display} has no template for it.`
          : `Not enough providers with templates in ${poolName} for ${visitType.display.toUpperCase()}.`,
      ),
      issue('noResults'),
    );
    return bundle(ctx, [], issues);
  }

  const candidates = findCandidates(data, visitType, new Set(pool), location, start, end, ctx.now);
  if (candidates.length === 0) issues.push(issue('noResults'));
  const appointments = candidates.map((c) =>
    toAppointment(c, visitType, data.serviceTypeSystem, patient, ctx, newId()),
  );
  return bundle(ctx, appointments, issues);
}

function resolvePractitioner(
  practitioners: readonly SimPractitioner[],
  value: Obj,
): SimPractitioner | undefined {
  if (typeof value.reference === 'string') {
    const m = /(?:^|\/)Practitioner\/([^/?#]+)$/.exec(value.reference);
    const byId = m ? practitioners.find((p) => p.stu3Id === m[1]) : undefined;
    if (byId) return byId;
  }
  const identifier = value.identifier;
  if (isObj(identifier) && typeof identifier.value === 'string') {
    const system = identifier.system;
    if (system === undefined || system === NPI_SYSTEM) {
      return practitioners.find((p) => p.npi === identifier.value);
    }
  }
  return undefined;
}

function determineVisitType(
  data: SchedulingData,
  param: Obj | undefined,
  issues: OutcomeIssue[],
): SimVisitType | undefined {
  const byCode = (code: string): SimVisitType | undefined => data.visitTypes.find((v) => v.code === code);
  let codings: Obj[] | undefined;
  if (param) {
    const concept = param.valueCodeableConcept;
    if (isObj(concept) && Array.isArray(concept.coding) && concept.coding.some(isObj)) {
      codings = concept.coding.filter(isObj);
    } else {
      issues.push(optionalInvalid('serviceType', 'expected valueCodeableConcept with a coding'));
    }
  }
  if (codings) {
    for (const c of codings) {
      if (c.system === data.serviceTypeSystem && typeof c.code === 'string') {
        const found = byCode(c.code);
        if (found) return found;
      }
    }
    const sent = codings.map((c) => `${String(c.system ?? '')}|${String(c.code ?? '')}`).join(', ');
    issues.push(
      issue(
        'visitTypeNotDetermined',
        `The decision tree could not determine a visit type for serviceType ${sent}; it knows codes in ${data.serviceTypeSystem}.`,
      ),
    );
    return undefined;
  }
  const fallback =
    data.defaultServiceTypeCode === undefined ? undefined : byCode(data.defaultServiceTypeCode);
  if (!fallback) {
    issues.push(
      issue('visitTypeNotDetermined', 'No serviceType was sent and the decision tree has no default.'),
    );
  }
  return fallback;
}

function findCandidates(
  data: SchedulingData,
  visitType: SimVisitType,
  pool: ReadonlySet<string>,
  location: SimLocation | undefined,
  windowStart: number,
  windowEnd: number,
  now: number,
): Candidate[] {
  const out: Candidate[] = [];
  for (const schedule of data.schedules) {
    if (!schedule.visitTypeIds.includes(visitType.id) || !pool.has(schedule.practitioner)) continue;
    if (location && schedule.location !== location.id) continue;
    const practitioner = data.practitioners.find((p) => p.stu3Id === schedule.practitioner);
    const loc = data.locations.find((l) => l.id === schedule.location);
    if (!practitioner || !loc) continue;
    const slotMs = schedule.slotMinutes * MINUTE;
    const open = new Set(schedule.openSlotStarts.map((s) => Date.parse(s)));
    const needed = Math.max(1, Math.ceil(visitType.minutes / schedule.slotMinutes));
    for (const s of [...open].sort((a, b) => a - b)) {
      const e = s + visitType.minutes * MINUTE;
      if (s < windowStart || e > windowEnd || s < now) continue;
      const slotStarts = Array.from({ length: needed }, (_, i) => s + i * slotMs);
      if (!slotStarts.every((t) => open.has(t))) continue;
      out.push({ schedule, practitioner, location: loc, slotStarts, start: s, end: e });
    }
  }
  return out.sort(
    (a, b) =>
      a.start - b.start ||
      a.practitioner.display.localeCompare(b.practitioner.display) ||
      a.location.name.localeCompare(b.location.name) ||
      a.schedule.id.localeCompare(b.schedule.id),
  );
}

function toAppointment(
  c: Candidate,
  visitType: SimVisitType,
  serviceTypeSystem: string,
  patient: PatientParticipant | undefined,
  ctx: FhirRequestContext,
  id: string,
): Record<string, unknown> {
  const slotMs = c.schedule.slotMinutes * MINUTE;
  const slots = c.slotStarts.map((s) => ({
    resourceType: 'Slot',
    id: slotId(c.schedule.id, s),
    schedule: { display: `${c.practitioner.display} - ${c.location.name}` },
    status: 'free',
    start: instant(s),
    end: instant(s + slotMs),
  }));
  const participant: unknown[] = [];
  if (patient) participant.push({ actor: patient, required: 'required', status: 'needs-action' });
  participant.push(
    {
      actor: {
        reference: `${ctx.stu3Base}/Practitioner/${c.practitioner.stu3Id}`,
        display: c.practitioner.display,
      },
      required: 'required',
      status: 'accepted',
    },
    {
      actor: { reference: `${ctx.stu3Base}/Location/${c.location.id}`, display: c.location.name },
      required: 'required',
      status: 'accepted',
    },
  );
  return {
    resourceType: 'Appointment',
    id,
    contained: slots,
    status: 'proposed',
    serviceType: [
      {
        coding: [{ system: serviceTypeSystem, code: visitType.code, display: visitType.display }],
        text: visitType.display,
      },
    ],
    start: instant(c.start),
    end: instant(c.end),
    minutesDuration: visitType.minutes,
    slot: slots.map((s) => ({ reference: `#${s.id}` })),
    participant,
  };
}

function bundle(
  ctx: FhirRequestContext,
  appointments: Record<string, unknown>[],
  issues: OutcomeIssue[],
): FhirResponse {
  const entry: unknown[] = appointments.map((a) => ({
    fullUrl: `${ctx.stu3Base}/Appointment/${String(a.id)}`,
    resource: a,
    search: { mode: 'match' },
  }));
  if (issues.length > 0) {
    entry.push({
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: operationOutcome(issues),
      search: { mode: 'outcome' },
    });
  }
  return {
    status: 200,
    body: {
      resourceType: 'Bundle',
      type: 'searchset',
      total: appointments.length,
      link: [{ relation: 'self', url: `${ctx.stu3Base}/Appointment/$find` }],
      entry,
    },
  };
}
