import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type DiagnosticContext,
  diagnosticsFromOutcome,
  providerNotInResults,
} from '../../../functions/core/scheduling/diagnostics.js';
import { readFindBundle } from '../../../functions/core/scheduling/normalize.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

const CTX: DiagnosticContext = {
  tenant: 'sandbox',
  window: { start: '2026-12-07T08:00:00Z', end: '2026-12-07T17:00:00Z' },
  serviceType: {
    system: 'urn:oid:1.2.840.114350.1.13.0.1.7.3.808267.11',
    code: '95014',
    display: 'Office Visit',
  },
  provider: { id: 'eQ1xW7vJm0pAsm1th.Jn3', name: 'Jane Smith, MD' },
  providerBasedScheduling: false,
};

describe('diagnosticsFromOutcome', () => {
  it('explains 4101 as no-open-slots with what an Epic analyst should check', () => {
    const { issues } = readFindBundle(fixture('find-outcome-only-4101.json'));

    const diagnostics = diagnosticsFromOutcome(issues, CTX);

    expect(diagnostics).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'no-open-slots', epicCode: '4101' }),
    ]);
    expect(diagnostics[0]!.message).toContain('Jane Smith, MD');
    expect(diagnostics[0]!.message).toContain('95014');
    expect(diagnostics[0]!.message).toMatch(/Epic analyst/);
  });

  it('gives every issue of an outcome with several codes its own diagnostic, in order', () => {
    const { issues } = readFindBundle(fixture('find-several-outcomes.json'));

    const diagnostics = diagnosticsFromOutcome(issues, CTX);

    expect(diagnostics.map((d) => [d.code, d.epicCode, d.severity])).toEqual([
      ['parameter-ignored', '59109', 'information'],
      ['visit-type-not-determined', '59200', 'warning'],
      ['provider-template-problem', '59134', 'warning'],
      ['epic-outcome', '59999', 'error'],
      ['no-open-slots', '4101', 'warning'],
    ]);
    expect(diagnostics[1]!.message).toMatch(/decision tree/);
    expect(diagnostics[2]!.message).toMatch(/templates/);
  });

  it("passes an unknown code through without Epic's free text (it may echo patient details)", () => {
    const { issues } = readFindBundle(fixture('find-several-outcomes.json'));

    const unknown = diagnosticsFromOutcome(issues, CTX).find((d) => d.epicCode === '59999');

    expect(unknown?.message).toBe(
      'Epic returned an OperationOutcome issue with code 59999 (processing); an Epic analyst can look the code up.',
    );
    expect(unknown).not.toHaveProperty('epicText');
    expect(JSON.stringify(issues)).not.toContain('Department is closed');
  });

  it("keeps Epic's text for a code whose text is Epic's fixed message", () => {
    const { issues } = readFindBundle(fixture('find-several-outcomes.json'));

    const noSlots = diagnosticsFromOutcome(issues, CTX).find((d) => d.epicCode === '4101');

    expect(noSlots?.epicText).toBe('Resource request returns no results.');
  });

  it('merges an issue Epic repeated', () => {
    const issue = { severity: 'warning', code: 'processing', epicCodes: ['4101'], text: 'No results.' };

    expect(diagnosticsFromOutcome([issue, issue], CTX)).toHaveLength(1);
  });

  it('describes an issue with neither code nor text without inventing one', () => {
    const [diagnostic] = diagnosticsFromOutcome(
      [{ severity: 'warning', code: 'processing', epicCodes: [] }],
      CTX,
    );

    expect(diagnostic).toMatchObject({ code: 'epic-outcome', epicCode: null, severity: 'warning' });
  });
});

describe('providerNotInResults', () => {
  it('says how many proposals came back and what to configure when provider-based scheduling is off', () => {
    const diagnostic = providerNotInResults(7, CTX);

    expect(diagnostic).toMatchObject({
      code: 'provider-not-in-results',
      epicCode: null,
      severity: 'warning',
    });
    expect(diagnostic.message).toContain('7 proposed appointment(s), none with Jane Smith, MD');
    expect(diagnostic.message).toContain('provider-based scheduling');
  });
});
