/**
 * The simulator's scheduling FHIR backend: R4 `Practitioner` read/search and STU3
 * `Appointment.$find`, for one organization, over plain typed data. Pure apart from the random
 * temporary appointment ids (and the outcome entries' `urn:uuid` fullUrls): the same data, request
 * and `ctx.now` always give the same slots, times and references.
 */
import type { FhirBackend } from '../fhir-backend.js';
import { appointmentFind, type FindOptions } from './find.js';
import { practitionerRead, practitionerSearch } from './practitioners.js';
import type { SchedulingData } from './types.js';

export type SchedulingBackendOptions = FindOptions;

/** Problems that would make the data unusable (dangling references, bad instants); empty = fine. */
export function validateSchedulingData(data: SchedulingData): string[] {
  const problems: string[] = [];
  const stu3 = new Set(data.practitioners.map((p) => p.stu3Id));
  const r4 = new Set(data.practitioners.map((p) => p.r4Id));
  if (stu3.size !== data.practitioners.length) problems.push('practitioners: duplicate stu3Id');
  if (r4.size !== data.practitioners.length) problems.push('practitioners: duplicate r4Id');
  const locations = new Set(data.locations.map((l) => l.id));
  const visitTypes = new Set(data.visitTypes.map((v) => v.id));
  const codes = new Set(data.visitTypes.map((v) => v.code));
  if (codes.size !== data.visitTypes.length) problems.push('visitTypes: duplicate code');
  for (const v of data.visitTypes) {
    if (!(Number.isInteger(v.minutes) && v.minutes > 0))
      problems.push(`visitTypes[${v.id}]: minutes must be > 0`);
    for (const p of v.providers) {
      if (!stu3.has(p)) problems.push(`visitTypes[${v.id}]: unknown provider ${p}`);
    }
  }
  const scheduleIds = new Set<string>();
  for (const s of data.schedules) {
    if (scheduleIds.has(s.id)) problems.push(`schedules[${s.id}]: duplicate id`);
    scheduleIds.add(s.id);
    if (!stu3.has(s.practitioner))
      problems.push(`schedules[${s.id}]: unknown practitioner ${s.practitioner}`);
    if (!locations.has(s.location)) problems.push(`schedules[${s.id}]: unknown location ${s.location}`);
    if (!(Number.isInteger(s.slotMinutes) && s.slotMinutes > 0)) {
      problems.push(`schedules[${s.id}]: slotMinutes must be > 0`);
    }
    for (const v of s.visitTypeIds) {
      if (!visitTypes.has(v)) problems.push(`schedules[${s.id}]: unknown visit type ${v}`);
    }
    for (const t of s.openSlotStarts) {
      if (Number.isNaN(Date.parse(t))) problems.push(`schedules[${s.id}]: "${t}" is not an instant`);
    }
  }
  if (data.defaultServiceTypeCode !== undefined && !codes.has(data.defaultServiceTypeCode)) {
    problems.push(`defaultServiceTypeCode: no visit type has code ${data.defaultServiceTypeCode}`);
  }
  if (data.practitionerParameterName.trim() === '')
    problems.push('practitionerParameterName: must not be empty');
  return problems;
}

/**
 * Builds the backend for one organization. Throws when the data has dangling references, so a
 * misconfigured tenant fails at start-up rather than with odd `$find` answers.
 */
export function createSchedulingBackend(
  data: SchedulingData,
  options: SchedulingBackendOptions = {},
): FhirBackend {
  const problems = validateSchedulingData(data);
  if (problems.length > 0) {
    throw new Error(`Scheduling data is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    practitionerRead: (id, ctx) => practitionerRead(data.practitioners, id, ctx),
    practitionerSearch: (params, ctx) => practitionerSearch(data.practitioners, params, ctx),
    appointmentFind: (body, ctx) => appointmentFind(data, body, ctx, options),
  };
}
