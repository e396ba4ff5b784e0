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

  it('every matrix row is exercised by a resilience test and ids are unique', () => {
    const sources = readdirSync(here)
      .filter((f) => (f.endsWith('.test.ts') && f !== 'matrix-doc.test.ts') || f === 'support.ts')
      .map((f) => readFileSync(join(here, f), 'utf8'))
      .join('\n');
    const ids = MATRIX.map((r) => r.id);

    const unused = ids.filter((id) => !sources.includes(`'${id}'`));

    expect(new Set(ids).size).toBe(ids.length);
    expect(unused).toEqual([]);
  });
});
