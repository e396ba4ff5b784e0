/**
 * Typed seed data for one simulated Epic organization's scheduling side: the providers an R4
 * `Practitioner` search finds, and the Cadence-like configuration that `Appointment.$find` (STU3)
 * runs on (visit types from the decision tree, provider templates, schedules with open slots).
 *
 * The data is plain and serialisable so a tenant can be configured in tests or from a file; see
 * `seed.ts` for the realistic default and `engine.ts` for how it is used.
 */

/** A provider (Epic SER record) as both FHIR versions expose it. */
export interface SimPractitioner {
  /** FHIR id on the R4 endpoint (Practitioner read/search). */
  r4Id: string;
  /**
   * FHIR id on the STU3 endpoint (`$find` participants). Epic ids can differ between FHIR versions,
   * so the simulator gives every provider a different one to keep clients honest. Schedules and
   * visit-type templates refer to providers by this id.
   */
  stu3Id: string;
  /** 10-digit NPI (check digit per the Luhn formula over the `80840` prefix). */
  npi: string;
  family: string;
  given: string[];
  /** e.g. "Dr." */
  prefix?: string;
  /** The name Epic shows: `name[].text` in R4 and `participant.actor.display` in STU3. */
  display: string;
}

/** A department / location (the STU3 `Location` a slot belongs to). */
export interface SimLocation {
  id: string;
  name: string;
}

/**
 * A visit type the organization's decision tree maps a `serviceType` code to (Epic PRC record).
 * `providers` are the providers with a scheduling template for it; a visit type without any is a
 * configuration problem Epic reports with 59134.
 */
export interface SimVisitType {
  /** Visit type id (internal, never on the wire). */
  id: string;
  /** `serviceType.coding.code` in the organization's coding system. */
  code: string;
  display: string;
  /** Length of the appointment in minutes (`Appointment.minutesDuration`). */
  minutes: number;
  /**
   * Name of the provider pool Epic names in 59134 diagnostics ("Not enough providers with
   * templates in <pool> for <visit type>."). Defaults to `<DISPLAY> PROVIDERS`.
   */
  providerPool?: string;
  /** STU3 ids of the providers that have a template for this visit type. */
  providers: string[];
}

/** One provider's schedule at one location: the open (bookable) slots on it. */
export interface SimSchedule {
  /** Stable id; contained Slot ids are derived from it and the slot start. */
  id: string;
  /** STU3 id of the provider (`SimPractitioner.stu3Id`). */
  practitioner: string;
  /** `SimLocation.id`. */
  location: string;
  /**
   * Start instants (ISO 8601, UTC) of the slots that are still open. Booked slots are simply not
   * listed. A visit type longer than one slot needs consecutive open slots.
   */
  openSlotStarts: string[];
  /** Length of one slot in minutes. */
  slotMinutes: number;
  /** `SimVisitType.id`s this schedule accepts. */
  visitTypeIds: string[];
}

export interface SchedulingData {
  practitioners: SimPractitioner[];
  locations: SimLocation[];
  visitTypes: SimVisitType[];
  schedules: SimSchedule[];
  /** The organization's `serviceType` coding system (an Epic OID, `urn:oid:...`). */
  serviceTypeSystem: string;
  /**
   * Whether the organization built provider-based scheduling. When false, a practitioner in the
   * `$find` request is ignored (59109) and every provider's slots come back; when true the
   * practitioner named by `practitionerParameterName` restricts the search to that provider.
   */
  providerBasedScheduling: boolean;
  /**
   * The `Parameters.parameter.name` the organization's rules accept as a practitioner hint, sent as
   * `valueReference` (`reference` to `Practitioner/<STU3 id>`, relative or absolute, and/or an
   * `identifier` with the NPI system). Epic publishes no provider parameter; the simulator's
   * default is `"practitioner"`.
   */
  practitionerParameterName: string;
  /**
   * The `serviceType` code the decision tree falls back to when a request carries no `serviceType`
   * (Epic's sandbox answers a bare `startTime`/`endTime` request with slots). Unset = such a
   * request gets 59200, as if the tree could not determine a visit type.
   */
  defaultServiceTypeCode?: string;
}
