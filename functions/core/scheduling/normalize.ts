import { type OutcomeSummary, summarizeOutcome } from '../epic/fhir-client.js';
import { isJsonObject } from '../values.js';
import { NPI_SYSTEM, nameMatches, type ResolvedProvider } from './provider-resolution.js';

/**
 * Reads Epic's `$find` answer (a searchset Bundle of proposed STU3 Appointments plus an
 * OperationOutcome entry) into slots, and filters them by what the caller asked for.
 */

export interface SlotParty {
  id: string;
  name: string | null;
}

export interface SlotServiceType {
  system: string | null;
  code: string;
  display: string | null;
}

/** One open slot, as API.md's find-slots response lists it. */
export interface Slot {
  start: string;
  end: string;
  minutes: number;
  provider: SlotParty | null;
  location: SlotParty | null;
  serviceType: SlotServiceType | null;
  /** Temporary id from $find: pass it to $book soon, never store it. */
  appointmentId: string | null;
  slotIds: string[];
}

/** A participant actor of a proposed appointment. */
export interface Actor {
  type: string;
  id: string | null;
  display: string | null;
  npi: string | null;
}

export interface ProposedAppointment {
  startMs: number;
  start: string;
  end: string;
  minutes: number;
  practitioners: Actor[];
  locations: Actor[];
  serviceTypes: SlotServiceType[];
  appointmentId: string | null;
  slotIds: string[];
}

export interface FindBundle {
  appointments: ProposedAppointment[];
  issues: OutcomeSummary[];
  /** Appointments left out because they had no readable start/end. */
  malformed: number;
}

type Obj = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

const REFERENCE = /(?:^|\/)([A-Z][a-z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/**
 * The type and id of a reference, relative ("Practitioner/abc") or absolute
 * ("https://host/api/FHIR/STU3/Practitioner/abc"); undefined for contained ("#x") or urn refs.
 */
export function parseReference(reference: string): { type: string; id: string } | undefined {
  const withoutQuery = reference.split(/[?#]/)[0] ?? '';
  if (reference.startsWith('#') || withoutQuery === '') return undefined;
  const m = REFERENCE.exec(withoutQuery);
  return m ? { type: m[1]!, id: m[2]! } : undefined;
}

function actorOf(participant: unknown): Actor | undefined {
  if (!isJsonObject(participant) || !isJsonObject(participant.actor)) return undefined;
  const actor = participant.actor;
  const ref = typeof actor.reference === 'string' ? parseReference(actor.reference) : undefined;
  const identifier = isJsonObject(actor.identifier) ? actor.identifier : undefined;
  const npi = identifier && identifier.system === NPI_SYSTEM ? str(identifier.value) : null;
  const type = ref?.type ?? str(actor.type);
  if (!type) return undefined;
  return { type, id: ref?.id ?? null, display: str(actor.display), npi };
}

function codingsOf(appointment: Obj): SlotServiceType[] {
  const concepts = Array.isArray(appointment.serviceType) ? appointment.serviceType.filter(isJsonObject) : [];
  const out: SlotServiceType[] = [];
  for (const concept of concepts) {
    const codings = Array.isArray(concept.coding) ? concept.coding.filter(isJsonObject) : [];
    for (const c of codings) {
      const code = str(c.code);
      if (code) out.push({ system: str(c.system), code, display: str(c.display) ?? str(concept.text) });
    }
  }
  return out;
}

function slotIdsOf(appointment: Obj): string[] {
  const ids: string[] = [];
  const contained = Array.isArray(appointment.contained) ? appointment.contained.filter(isJsonObject) : [];
  const containedSlots = new Map<string, Obj>();
  for (const c of contained) {
    if (c.resourceType === 'Slot' && typeof c.id === 'string') containedSlots.set(c.id, c);
  }
  const refs = Array.isArray(appointment.slot) ? appointment.slot.filter(isJsonObject) : [];
  for (const ref of refs) {
    const reference = str(ref.reference);
    if (!reference) continue;
    if (reference.startsWith('#')) {
      const local = reference.slice(1);
      if (containedSlots.has(local)) ids.push(local);
      continue;
    }
    const parsed = parseReference(reference);
    if (parsed?.type === 'Slot') ids.push(parsed.id);
  }
  for (const id of containedSlots.keys()) ids.push(id);
  return [...new Set(ids)];
}

function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Reads one proposed Appointment; undefined when it has no readable start and end. */
export function readAppointment(appointment: Obj): ProposedAppointment | undefined {
  const startMs = timeOf(appointment.start);
  const endMs = timeOf(appointment.end);
  const declared = appointment.minutesDuration;
  const validDeclared = typeof declared === 'number' && Number.isFinite(declared) && declared > 0;
  if (startMs === undefined) return undefined;
  let end: string;
  if (endMs !== undefined && endMs > startMs) end = appointment.end as string;
  else if (validDeclared) end = new Date(startMs + declared * 60_000).toISOString();
  else return undefined;
  const minutes = validDeclared ? declared : Math.round((Date.parse(end) - startMs) / 60_000);
  const actors = (Array.isArray(appointment.participant) ? appointment.participant : [])
    .map(actorOf)
    .filter((a): a is Actor => a !== undefined);
  return {
    startMs,
    start: appointment.start as string,
    end,
    minutes,
    practitioners: actors.filter((a) => a.type === 'Practitioner'),
    locations: actors.filter((a) => a.type === 'Location'),
    serviceTypes: codingsOf(appointment),
    appointmentId: str(appointment.id),
    slotIds: slotIdsOf(appointment),
  };
}

/** Reads a `$find` answer: a Bundle (appointments + outcome entries) or a bare OperationOutcome. */
export function readFindBundle(resource: unknown): FindBundle {
  const result: FindBundle = { appointments: [], issues: [], malformed: 0 };
  if (!isJsonObject(resource)) return result;
  if (resource.resourceType === 'OperationOutcome') {
    result.issues.push(...summarizeOutcome(resource));
    return result;
  }
  const entries = Array.isArray(resource.entry) ? resource.entry.filter(isJsonObject) : [];
  for (const entry of entries) {
    const inner = entry.resource;
    if (!isJsonObject(inner)) continue;
    if (inner.resourceType === 'OperationOutcome') {
      result.issues.push(...summarizeOutcome(inner));
    } else if (inner.resourceType === 'Appointment') {
      const appointment = readAppointment(inner);
      if (appointment) result.appointments.push(appointment);
      else result.malformed += 1;
    }
  }
  return result;
}

/** True when an actor is the resolved provider: by id, else by NPI, else by name. */
export function actorIsProvider(actor: Actor, provider: ResolvedProvider): boolean {
  if (actor.id !== null && actor.id === provider.id) return true;
  if (actor.npi !== null && provider.npi !== undefined) return actor.npi === provider.npi;
  return actor.display !== null && nameMatches(provider, actor.display);
}

export interface SlotCriteria {
  provider?: ResolvedProvider;
  locationId?: string;
  serviceType?: { system: string; code: string };
  window: { startMs: number; endMs: number };
}

export interface FilterResult {
  kept: Array<{ appointment: ProposedAppointment; provider: Actor | undefined }>;
  /** Appointments left after each step, for explaining an empty answer. */
  afterWindow: number;
  afterServiceType: number;
  afterLocation: number;
}

function serviceTypeMatches(
  appointment: ProposedAppointment,
  wanted: { system: string; code: string },
): boolean {
  const comparable = appointment.serviceTypes.filter((s) => s.system === null || s.system === wanted.system);
  // An appointment that does not say its service type in our system cannot be ruled out.
  return comparable.length === 0 || comparable.some((s) => s.code === wanted.code);
}

/**
 * Keeps the appointments that start in the window and match the asked-for service type, location
 * and provider, whatever Epic did with the hints.
 */
export function filterAppointments(
  appointments: readonly ProposedAppointment[],
  criteria: SlotCriteria,
): FilterResult {
  const inWindow = appointments.filter(
    (a) => a.startMs >= criteria.window.startMs && a.startMs < criteria.window.endMs,
  );
  const wantedService = criteria.serviceType;
  const byService = wantedService ? inWindow.filter((a) => serviceTypeMatches(a, wantedService)) : inWindow;
  const byLocation = criteria.locationId
    ? byService.filter((a) => a.locations.some((l) => l.id === criteria.locationId))
    : byService;
  const kept: FilterResult['kept'] = [];
  const wanted = criteria.provider;
  // When Epic's answer uses the same ids as the Practitioner lookup, ids alone decide; the NPI and
  // name fallbacks are only for organizations whose ids differ between FHIR versions.
  const idsComparable =
    wanted !== undefined && appointments.some((a) => a.practitioners.some((p) => p.id === wanted.id));
  for (const appointment of byLocation) {
    if (!wanted) {
      kept.push({ appointment, provider: appointment.practitioners[0] });
      continue;
    }
    const match = appointment.practitioners.find((p) =>
      idsComparable ? p.id === wanted.id : actorIsProvider(p, wanted),
    );
    if (match) kept.push({ appointment, provider: match });
  }
  return {
    kept,
    afterWindow: inWindow.length,
    afterServiceType: byService.length,
    afterLocation: byLocation.length,
  };
}

function chooseServiceType(appointment: ProposedAppointment, system: string): SlotServiceType | null {
  return appointment.serviceTypes.find((s) => s.system === system) ?? appointment.serviceTypes[0] ?? null;
}

/** Slots sorted by start (then provider, then appointment id for a stable order), cut at `limit`. */
export function toSlots(
  kept: FilterResult['kept'],
  options: { serviceTypeSystem: string; limit: number; provider?: ResolvedProvider },
): Slot[] {
  const slots = kept.map(({ appointment, provider }): Slot & { startMs: number } => {
    const location = appointment.locations[0];
    // The participant's own id (what $book expects), else the resolved provider's id.
    const providerId = provider?.id ?? options.provider?.id;
    return {
      startMs: appointment.startMs,
      start: appointment.start,
      end: appointment.end,
      minutes: appointment.minutes,
      provider:
        provider && providerId
          ? { id: providerId, name: provider.display ?? options.provider?.name ?? null }
          : null,
      location: location?.id ? { id: location.id, name: location.display } : null,
      serviceType: chooseServiceType(appointment, options.serviceTypeSystem),
      appointmentId: appointment.appointmentId,
      slotIds: appointment.slotIds,
    };
  });
  slots.sort(
    (a, b) =>
      a.startMs - b.startMs ||
      (a.provider?.id ?? '').localeCompare(b.provider?.id ?? '') ||
      (a.appointmentId ?? '').localeCompare(b.appointmentId ?? ''),
  );
  return slots.slice(0, options.limit).map(({ startMs: _startMs, ...slot }) => slot);
}
