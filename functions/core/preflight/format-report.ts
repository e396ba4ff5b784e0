import type { CheckStatus, PreflightReport } from './run-preflight.js';

/** The preflight report as a plain-text table for a terminal (the CLI prints it). */
const LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

export function formatPreflightReport(report: PreflightReport, width = 100): string {
  const nameWidth = Math.max(5, ...report.checks.map((c) => c.name.length));
  const textWidth = Math.max(30, width - nameWidth - 10);
  const indent = ' '.repeat(nameWidth + 10);
  const out: string[] = [`Preflight for tenant "${report.tenant}"`, ''];
  out.push(`STATUS  ${'CHECK'.padEnd(nameWidth)}  DETAILS`);
  out.push(`------  ${'-'.repeat(nameWidth)}  ${'-'.repeat(Math.min(textWidth, 40))}`);
  for (const c of report.checks) {
    const [first, ...rest] = wrap(c.message, textWidth);
    out.push(`${LABEL[c.status].padEnd(6)}  ${c.name.padEnd(nameWidth)}  ${first}`);
    for (const line of rest) out.push(`${indent}${line}`);
    if (c.fix) {
      const [fixFirst, ...fixRest] = wrap(c.fix, textWidth - 5);
      out.push(`${indent}Fix: ${fixFirst}`);
      for (const line of fixRest) out.push(`${indent}     ${line}`);
    }
  }
  const count = (s: CheckStatus) => report.checks.filter((c) => c.status === s).length;
  out.push('');
  out.push(
    `${report.ok ? 'OK' : 'NOT READY'}: ${count('pass')} passed, ${count('warn')} warning(s), ` +
      `${count('fail')} failed, ${count('skip')} skipped.`,
  );
  return `${out.join('\n')}\n`;
}
