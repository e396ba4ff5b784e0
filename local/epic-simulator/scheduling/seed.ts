/**
 * A realistic, deterministic default clinic for the simulator, relative to the simulator clock:
 * four providers (two named Smith), two locations, three bookable visit types and one the decision
 * tree knows but nobody has a template for, and open slots on the weekdays of NEXT calendar week
 * (UTC), with some already booked. The same `now` always gives the same data.
 *
 * With `now` on 2026-12-04, next week is Monday 2026-12-07 to Friday 2026-12-11, and Dr. Jane
 * Smith has Office Visit (95014) slots at the Main Street clinic from 09:00Z.
 */
import { withNpiCheckDigit } from './npi.js';
import type { SchedulingData, SimLocation, SimPractitioner, SimSchedule, SimVisitType } from './types.js';

/** The sandbox organization's `serviceType` coding system (see API.md). */
export const SEED_SERVICE_TYPE_SYSTEM = 'urn:oid:1.2.840.114350.1.13.0.1.7.3.808267.11';

/** The parameter name the seeded organization accepts for a practitioner hint (`valueReference`). */
export const DEFAULT_PRACTITIONER_PARAMETER = 'practitioner';

export const SEED_PRACTITIONERS = {
  janeSmith: {
    r4Id: 'eQ1xW7vJm0pAsm1th.Jn3',
    stu3Id: 'TsJ4nE9kQ2v7bLmR8cUa0Wg3',
    npi: withNpiCheckDigit('123456789'),
    family: 'Smith',
    given: ['Jane'],
    prefix: 'Dr.',
    display: 'Jane Smith, MD',
  },
  johnSmith: {
    r4Id: 'eK8tB3yLh5nRsm1th.Jh3',
    stu3Id: 'TjH0nR4tY6w1cPxD5eMq2Kb3',
    npi: withNpiCheckDigit('198765432'),
    family: 'Smith',
    given: ['John', 'Robert'],
    prefix: 'Dr.',
    display: 'John Smith, MD',
  },
  mariaGarcia: {
    r4Id: 'eG4rC1aMv9xZg4rc1a.Mr3',
    stu3Id: 'TmG7rC2aN5q8vHzB1yLw4Ds3',
    npi: withNpiCheckDigit('145678901'),
    family: 'Garcia',
    given: ['Maria'],
    prefix: 'Dr.',
    display: 'Maria Garcia, MD',
  },
  ahmedKhan: {
    r4Id: 'eA2hK6mDq4tYkh4n.Ah3',
    stu3Id: 'TaK9hN3mE1r6sJwF7tQx5Vc3',
    npi: withNpiCheckDigit('167890123'),
    family: 'Khan',
    given: ['Ahmed'],
    prefix: 'Dr.',
    display: 'Ahmed Khan, MD',
  },
} as const satisfies Record<string, SimPractitioner>;

export const SEED_LOCATIONS = {
  mainStreet: { id: 'e4W4bGmhBQbLmQ5dC9BPh1g3', name: 'Main Street Family Medicine' },
  riverside: { id: 'eR1vErS1dE7cL1n1cL0c8Qw3', name: 'Riverside Medical Center' },
} as const satisfies Record<string, SimLocation>;

/** `serviceType` codes in `SEED_SERVICE_TYPE_SYSTEM`. */
export const SEED_SERVICE_TYPES = {
  officeVisit: '95014',
  newPatientVisit: '95015',
  telehealthFollowUp: '95016',
  /** Known to the decision tree, but no provider has a template for it: `$find` answers 59134. */
  sportsPhysicalNoTemplates: '95017',
} as const;

/** A sandbox patient id for examples (`patient` parameter of `$find`). */
export const SEED_PATIENT_ID = 'erXuFYUfucBZaryVksYEcMg3';

const DAY = 86_400_000;

/** 00:00Z of the Monday of the calendar week (Monday to Sunday, UTC) after the one holding `now`. */
export function nextWeekMonday(now: number): number {
  const today = Math.floor(now / DAY) * DAY;
  const daysSinceMonday = (new Date(today).getUTCDay() + 6) % 7;
  return today - daysSinceMonday * DAY + 7 * DAY;
}

const P = SEED_PRACTITIONERS;
const L = SEED_LOCATIONS;

const VISIT_TYPES: SimVisitType[] = [
  {
    id: '1001',
    code: SEED_SERVICE_TYPES.officeVisit,
    display: 'Office Visit',
    minutes: 30,
    providers: [P.janeSmith.stu3Id, P.johnSmith.stu3Id, P.ahmedKhan.stu3Id],
  },
  {
    id: '1002',
    code: SEED_SERVICE_TYPES.newPatientVisit,
    display: 'New Patient Visit',
    minutes: 60,
    providers: [P.janeSmith.stu3Id, P.mariaGarcia.stu3Id],
  },
  {
    id: '1003',
    code: SEED_SERVICE_TYPES.telehealthFollowUp,
    display: 'Telehealth Follow-up',
    minutes: 20,
    providers: [P.mariaGarcia.stu3Id, P.ahmedKhan.stu3Id],
  },
  {
    id: '1004',
    code: SEED_SERVICE_TYPES.sportsPhysicalNoTemplates,
    display: 'Sports Physical',
    minutes: 45,
    providerPool: 'SPORTS MEDICINE PROVIDERS',
    providers: [],
  },
];

interface SchedulePlan {
  id: string;
  practitioner: string;
  location: string;
  slotMinutes: number;
  visitTypeIds: string[];
  /** Weekdays 0 = Monday .. 4 = Friday. */
  days: number[];
  /** [startHour, endHour) blocks, UTC. */
  blocks: Array<[number, number]>;
  /** Varies which slots are already booked. */
  salt: number;
}

const PLANS: SchedulePlan[] = [
  {
    id: 'jsmith-main',
    practitioner: P.janeSmith.stu3Id,
    location: L.mainStreet.id,
    slotMinutes: 30,
    visitTypeIds: ['1001', '1002'],
    days: [0, 1, 2, 3, 4],
    blocks: [
      [9, 12],
      [13, 16],
    ],
    salt: 1,
  },
  {
    id: 'jrsmith-main',
    practitioner: P.johnSmith.stu3Id,
    location: L.mainStreet.id,
    slotMinutes: 30,
    visitTypeIds: ['1001'],
    days: [0, 2, 4],
    blocks: [
      [9, 12],
      [13, 16],
    ],
    salt: 2,
  },
  {
    id: 'jrsmith-riverside',
    practitioner: P.johnSmith.stu3Id,
    location: L.riverside.id,
    slotMinutes: 30,
    visitTypeIds: ['1001'],
    days: [1, 3],
    blocks: [
      [9, 12],
      [13, 16],
    ],
    salt: 3,
  },
  {
    id: 'mgarcia-riverside',
    practitioner: P.mariaGarcia.stu3Id,
    location: L.riverside.id,
    slotMinutes: 30,
    visitTypeIds: ['1002'],
    days: [0, 1, 2, 3, 4],
    blocks: [[9, 12]],
    salt: 4,
  },
  {
    id: 'mgarcia-telehealth',
    practitioner: P.mariaGarcia.stu3Id,
    location: L.riverside.id,
    slotMinutes: 20,
    visitTypeIds: ['1003'],
    days: [0, 1, 2, 3, 4],
    blocks: [[13, 16]],
    salt: 5,
  },
  {
    id: 'akhan-riverside',
    practitioner: P.ahmedKhan.stu3Id,
    location: L.riverside.id,
    slotMinutes: 30,
    visitTypeIds: ['1001', '1003'],
    days: [0, 1, 2, 3, 4],
    blocks: [
      [9, 12],
      [13, 16],
    ],
    salt: 6,
  },
];

/** Roughly one slot in five is already booked, in a fixed pattern per schedule. */
function isBooked(day: number, index: number, salt: number): boolean {
  return (index * 7 + day * 3 + salt) % 5 === 0;
}

function openSlots(plan: SchedulePlan, monday: number): string[] {
  const out: string[] = [];
  const slotMs = plan.slotMinutes * 60_000;
  for (const day of plan.days) {
    let index = 0;
    for (const [from, to] of plan.blocks) {
      for (
        let t = monday + day * DAY + from * 3_600_000;
        t + slotMs <= monday + day * DAY + to * 3_600_000;
        t += slotMs
      ) {
        if (!isBooked(day, index, plan.salt)) out.push(new Date(t).toISOString());
        index++;
      }
    }
  }
  return out;
}

export interface DefaultSchedulingOptions {
  /** Simulator clock (ms since epoch); slots are laid on the calendar week after it. */
  now: number;
  /** Whether the organization built provider-based scheduling (default false, like the sandbox). */
  providerBasedScheduling?: boolean;
}

export function defaultSchedulingData(options: DefaultSchedulingOptions): SchedulingData {
  const monday = nextWeekMonday(options.now);
  const schedules: SimSchedule[] = PLANS.map((plan) => ({
    id: plan.id,
    practitioner: plan.practitioner,
    location: plan.location,
    slotMinutes: plan.slotMinutes,
    visitTypeIds: [...plan.visitTypeIds],
    openSlotStarts: openSlots(plan, monday),
  }));
  return {
    practitioners: Object.values(SEED_PRACTITIONERS).map((p) => ({ ...p, given: [...p.given] })),
    locations: Object.values(SEED_LOCATIONS).map((l) => ({ ...l })),
    visitTypes: VISIT_TYPES.map((v) => ({ ...v, providers: [...v.providers] })),
    schedules,
    serviceTypeSystem: SEED_SERVICE_TYPE_SYSTEM,
    providerBasedScheduling: options.providerBasedScheduling ?? false,
    practitionerParameterName: DEFAULT_PRACTITIONER_PARAMETER,
    defaultServiceTypeCode: SEED_SERVICE_TYPES.officeVisit,
  };
}
