import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DOC_BEGIN, DOC_END, MATRIX, renderMatrixTable } from './matrix.js';

/**
 * docs/RESILIENCE.md holds the fault matrix rendered from test/resilience/matrix.ts, the same data
 * the resilience tests assert against. This test fails when the committed table differs; run
 * `RESILIENCE_DOC_UPDATE=1 npx vitest run test/resilience/matrix-doc.test.ts` to rewrite it. The
 * table depends on the data alone, never on run order or timing.
 */
const here = dirname(fileURLToPath(import.meta.url));
const DOC = join(here, '..', '..', 'docs', 'RESILIENCE.md');

function tableIn(doc: string): string | undefined {
  const begin = doc.indexOf(DOC_BEGIN);
  const end = doc.indexOf(DOC_END);
  if (begin < 0 || end < begin) return undefined;
  return doc.slice(begin + DOC_BEGIN.length, end).trim();
}

describe('docs/RESILIENCE.md', () => {
  it('holds exactly the matrix the suite asserts', () => {
    const expected = renderMatrixTable();
    const doc = readFileSync(DOC, 'utf8');
    if (process.env.RESILIENCE_DOC_UPDATE === '1' && tableIn(doc) !== expected) {
      const begin = doc.indexOf(DOC_BEGIN);
      const end = doc.indexOf(DOC_END);
      writeFileSync(DOC, `${doc.slice(0, begin + DOC_BEGIN.length)}\n${expected}\n${doc.slice(end)}`);
    }

    expect(tableIn(readFileSync(DOC, 'utf8')), 'rerun with RESILIENCE_DOC_UPDATE=1 to regenerate').toBe(
      expected,
    );
  });

  it('every matrix row belongs to an area some resilience file asserts row by row, and ids are unique', () => {
    // Each file ends with expectRowsAsserted([...areas]) in an afterAll, which fails unless every
    // row of those areas went through assertRow (exact counts, status, code) in that file's own
    // process. Here: every area is claimed by some file, so no row escapes that check.
    const owned = new Set(
      readdirSync(here)
        .filter((f) => f.endsWith('.test.ts') && f !== 'matrix-doc.test.ts')
        .flatMap((f) =>
          [...readFileSync(join(here, f), 'utf8').matchAll(/expectRowsAsserted\(\[([^\]]*)\]\)/g)].flatMap(
            (m) => [...m[1]!.matchAll(/'([^']+)'/g)].map((q) => q[1]!),
          ),
        ),
    );
    const ids = MATRIX.map((r) => r.id);

    const unowned = MATRIX.filter((r) => !owned.has(r.area)).map((r) => r.id);

    expect(new Set(ids).size).toBe(ids.length);
    expect(unowned).toEqual([]);
  });
});
