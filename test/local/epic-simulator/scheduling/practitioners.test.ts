import { describe, expect, it } from 'vitest';
import { createSchedulingBackend } from '../../../../local/epic-simulator/scheduling/engine.js';
import {
  defaultSchedulingData,
  SEED_PRACTITIONERS,
} from '../../../../local/epic-simulator/scheduling/seed.js';
import { asBundle, ctx, epicCodes, issuesOf, NOW } from './fixtures.js';

const NPI = 'http://hl7.org/fhir/sid/us-npi';
const { janeSmith, johnSmith, mariaGarcia } = SEED_PRACTITIONERS;

const backend = createSchedulingBackend(defaultSchedulingData({ now: NOW }));
const search = (query: string) => backend.practitionerSearch(new URLSearchParams(query), ctx);

/** R4 ids of the matched practitioners, in order. */
function matchedIds(body: unknown): string[] {
  return asBundle(body)
    .entry.filter((e) => e.search?.mode === 'match')
    .map((e) => String(e.resource.id));
}

describe('Practitioner read (R4)', () => {
  it('returns the practitioner with its NPI and name', () => {
    // Act
    const res = backend.practitionerRead(janeSmith.r4Id, ctx);

    // Assert
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      resourceType: 'Practitioner',
      id: janeSmith.r4Id,
      identifier: [{ use: 'usual', type: { text: 'NPI' }, system: NPI, value: janeSmith.npi }],
      active: true,
      name: [{ use: 'usual', text: 'Jane Smith, MD', family: 'Smith', given: ['Jane'], prefix: ['Dr.'] }],
    });
  });

  it('answers 404 with 4102 for an STU3 id, because ids differ between FHIR versions', () => {
    const res = backend.practitionerRead(janeSmith.stu3Id, ctx);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome' });
    expect(epicCodes(res.body)).toEqual(['4102']);
  });
});

describe('Practitioner search (R4)', () => {
  describe('when two practitioners share a family name', () => {
    it('finds both Smiths by name', () => {
      const res = search('name=smith');
      expect(res.status).toBe(200);
      expect(asBundle(res.body)).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 2 });
      expect(matchedIds(res.body)).toEqual([janeSmith.r4Id, johnSmith.r4Id]);
    });

    it('finds one Smith when the name has the given name too', () => {
      expect(matchedIds(search('name=Jane%20Smith').body)).toEqual([janeSmith.r4Id]);
    });

    it('finds both by family and one by family and given', () => {
      expect(matchedIds(search('family=Smith').body)).toEqual([janeSmith.r4Id, johnSmith.r4Id]);
      expect(matchedIds(search('family=smith&given=jo').body)).toEqual([johnSmith.r4Id]);
    });

    it('matches a middle given name', () => {
      expect(matchedIds(search('given=Robert').body)).toEqual([johnSmith.r4Id]);
    });
  });

  it('matches the start of a name part, case-insensitively', () => {
    expect(matchedIds(search('name=GAR').body)).toEqual([mariaGarcia.r4Id]);
    expect(matchedIds(search('name=arcia').body)).toEqual([]);
  });

  it('ignores name when a discrete family or given is sent, as Epic documents', () => {
    expect(matchedIds(search('family=Garcia&name=smith').body)).toEqual([mariaGarcia.r4Id]);
  });

  it.each([
    ['system|value', `${NPI}|${johnSmith.npi}`],
    ['a bare value', johnSmith.npi],
    ['|value', `|${johnSmith.npi}`],
  ])('finds by NPI identifier given as %s', (_label, identifier) => {
    expect(matchedIds(search(`identifier=${encodeURIComponent(identifier)}`).body)).toEqual([johnSmith.r4Id]);
  });

  it('treats comma-separated identifiers as alternatives', () => {
    const q = `identifier=${encodeURIComponent(`${NPI}|${janeSmith.npi},${NPI}|${mariaGarcia.npi}`)}`;
    expect(matchedIds(search(q).body)).toEqual([janeSmith.r4Id, mariaGarcia.r4Id]);
  });

  it('gives every match an absolute fullUrl on the R4 base', () => {
    const entry = asBundle(search('family=Garcia').body).entry[0]!;
    expect(entry.fullUrl).toBe(`${ctx.r4Base}/Practitioner/${mariaGarcia.r4Id}`);
  });

  describe('when nothing matches', () => {
    it('answers a Bundle with total 0 and a 4101 outcome entry', () => {
      // Act
      const res = search(`identifier=${encodeURIComponent(`urn:oid:1.2.3|${janeSmith.npi}`)}`);

      // Assert
      expect(res.status).toBe(200);
      const bundle = asBundle(res.body);
      expect(bundle.total).toBe(0);
      expect(bundle.entry).toHaveLength(1);
      expect(bundle.entry[0]!.search).toEqual({ mode: 'outcome' });
      expect(epicCodes(res.body)).toEqual(['4101']);
    });
  });

  describe('when an unknown parameter is sent', () => {
    it('ignores it, still matches, and reports it with 59100', () => {
      // Act
      const res = search('family=Khan&specialty-x=cardiology');

      // Assert
      expect(res.status).toBe(200);
      expect(matchedIds(res.body)).toEqual([SEED_PRACTITIONERS.ahmedKhan.r4Id]);
      expect(epicCodes(res.body)).toEqual(['59100']);
      expect(issuesOf(res.body)[0]).toMatchObject({
        severity: 'information',
        diagnostics: 'Unknown parameter: SPECIALTY-X. Parameter has been ignored.',
      });
    });

    it('answers 400 with 4110 when no supported parameter is left', () => {
      const res = search('specialty-x=cardiology');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ resourceType: 'OperationOutcome' });
      expect(epicCodes(res.body)).toEqual(['4110', '59100']);
    });
  });
});
