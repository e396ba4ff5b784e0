/**
 * R4 `Practitioner` read and search, the way Epic answers them:
 *
 * - read of an unknown id: 404 with an OperationOutcome carrying 4102;
 * - search parameters `name`, `family`, `given`, `identifier`, `_id` (and `_count`) combine with AND;
 *   repeated parameters AND, comma-separated values OR;
 * - `name` matches the start of any part of the name (family, a given name, a word of the text),
 *   case-insensitively; several words must all match (`name=jane smith`). As Epic documents for its
 *   name searches, `name` is ignored when a discrete `family` or `given` is sent;
 * - `family` / `given` are case-insensitive prefix matches;
 * - `identifier` is `value` or `system|value` (NPI system `http://hl7.org/fhir/sid/us-npi`);
 * - unknown parameters are ignored and reported in an outcome entry (59100, information, diagnostics
 *   "Unknown parameter: NAME. Parameter has been ignored.", upper-cased as Epic does);
 * - no supported parameter at all: HTTP 400 with 4110 (plus the 59100 issues);
 * - no match: HTTP 200, `total: 0`, one outcome entry with 4101.
 */

import { randomUUID } from 'node:crypto';
import type { FhirRequestContext, FhirResponse } from '../fhir-backend.js';
import { issue, type OutcomeIssue, operationOutcome } from './outcomes.js';
import type { SimPractitioner } from './types.js';

export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

const SUPPORTED = new Set(['name', 'family', 'given', 'identifier', '_id', '_count']);

export function toR4Practitioner(p: SimPractitioner): Record<string, unknown> {
  return {
    resourceType: 'Practitioner',
    id: p.r4Id,
    identifier: [{ use: 'usual', type: { text: 'NPI' }, system: NPI_SYSTEM, value: p.npi }],
    active: true,
    name: [
      {
        use: 'usual',
        text: p.display,
        family: p.family,
        given: [...p.given],
        ...(p.prefix === undefined ? {} : { prefix: [p.prefix] }),
      },
    ],
  };
}

export function practitionerRead(
  practitioners: readonly SimPractitioner[],
  id: string,
  _ctx: FhirRequestContext,
): FhirResponse {
  const found = practitioners.find((p) => p.r4Id === id);
  if (!found) {
    return {
      status: 404,
      body: operationOutcome([issue('invalidId', `Invalid FHIR ID provided: Practitioner/${id}`)]),
    };
  }
  return { status: 200, body: toR4Practitioner(found) };
}

const norm = (s: string): string => s.trim().toLowerCase();

function nameWords(p: SimPractitioner): string[] {
  const words = [p.family, ...p.given, ...p.display.split(/[\s,.]+/), ...(p.prefix ? [p.prefix] : [])];
  return words.map(norm).filter((w) => w.length > 0);
}

/** Every word of the query starts some part of the practitioner's name. */
function matchesName(p: SimPractitioner, query: string): boolean {
  const terms = query
    .split(/[\s,]+/)
    .map(norm)
    .filter((t) => t.length > 0);
  if (terms.length === 0) return false;
  const words = nameWords(p);
  return terms.every((t) => words.some((w) => w.startsWith(t)));
}

function matchesFamily(p: SimPractitioner, query: string): boolean {
  const q = norm(query);
  return q.length > 0 && norm(p.family).startsWith(q);
}

function matchesGiven(p: SimPractitioner, query: string): boolean {
  const q = norm(query);
  return q.length > 0 && p.given.some((g) => norm(g).startsWith(q));
}

function matchesIdentifier(p: SimPractitioner, token: string): boolean {
  const bar = token.indexOf('|');
  if (bar === -1) return token.trim() === p.npi;
  const system = token.slice(0, bar);
  const value = token.slice(bar + 1);
  if (system !== '' && system !== NPI_SYSTEM) return false;
  return value === p.npi;
}

/** FHIR: a comma separates alternatives (OR) within one parameter value. */
const anyOf = (value: string, test: (alt: string) => boolean): boolean => value.split(',').some(test);

export function practitionerSearch(
  practitioners: readonly SimPractitioner[],
  params: URLSearchParams,
  ctx: FhirRequestContext,
): FhirResponse {
  const issues: OutcomeIssue[] = [];
  const unknown = [...new Set([...params.keys()].filter((k) => !SUPPORTED.has(k)))];
  for (const name of unknown) {
    issues.push(
      issue(
        'unknownSearchParameter',
        `Unknown parameter: ${name.toUpperCase()}. Parameter has been ignored.`,
      ),
    );
  }

  const family = params.getAll('family');
  const given = params.getAll('given');
  const names = family.length > 0 || given.length > 0 ? [] : params.getAll('name');
  const identifiers = params.getAll('identifier');
  const ids = params.getAll('_id');
  if (family.length + given.length + names.length + identifiers.length + ids.length === 0) {
    issues.unshift(
      issue('noParameters', 'Practitioner search needs name, family, given, identifier or _id.'),
    );
    return { status: 400, body: operationOutcome(issues) };
  }

  let matches = practitioners.filter(
    (p) =>
      family.every((v) => anyOf(v, (alt) => matchesFamily(p, alt))) &&
      given.every((v) => anyOf(v, (alt) => matchesGiven(p, alt))) &&
      names.every((v) => anyOf(v, (alt) => matchesName(p, alt))) &&
      identifiers.every((v) => anyOf(v, (alt) => matchesIdentifier(p, alt))) &&
      ids.every((v) => anyOf(v, (alt) => alt.trim() === p.r4Id)),
  );

  const total = matches.length;
  const count = Number.parseInt(params.get('_count') ?? '', 10);
  if (Number.isInteger(count) && count > 0) matches = matches.slice(0, count);
  if (total === 0) issues.push(issue('noResults'));

  const entry: unknown[] = matches.map((p) => ({
    fullUrl: `${ctx.r4Base}/Practitioner/${p.r4Id}`,
    resource: toR4Practitioner(p),
    search: { mode: 'match' },
  }));
  if (issues.length > 0) {
    entry.push({
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: operationOutcome(issues),
      search: { mode: 'outcome' },
    });
  }
  const query = params.toString();
  return {
    status: 200,
    body: {
      resourceType: 'Bundle',
      type: 'searchset',
      total,
      link: [{ relation: 'self', url: `${ctx.r4Base}/Practitioner${query ? `?${query}` : ''}` }],
      entry,
    },
  };
}
