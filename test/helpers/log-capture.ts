import { vi } from 'vitest';

/**
 * Captures everything written to stdout/stderr (Powertools Logger writes JSON lines there), so
 * tests can assert on message codes and prove that no secret was logged.
 */
export interface LogCapture {
  lines(): string[];
  /** Parsed JSON log entries (non-JSON lines are skipped). */
  entries(): Array<Record<string, unknown>>;
  codes(): string[];
  text(): string;
  restore(): void;
}

export function captureLogs(): LogCapture {
  const chunks: string[] = [];
  const record = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(record as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(record as typeof process.stderr.write);
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((l) => l.trim() !== '');
  const entries = () =>
    lines().flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    lines,
    entries,
    codes: () => entries().map((e) => String(e.message)),
    text,
    restore() {
      out.mockRestore();
      err.mockRestore();
    },
  };
}

/** Every secret-looking value must be absent from the captured text. */
export function expectNoSecrets(text: string, secrets: Iterable<string>): string[] {
  const leaked: string[] = [];
  for (const secret of secrets) {
    if (secret.length >= 8 && text.includes(secret)) leaked.push(`${secret.slice(0, 6)}…`);
  }
  if (/Bearer\s+[A-Za-z0-9._~+/-]{16,}/.test(text)) leaked.push('a Bearer credential');
  if (/eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\./.test(text)) leaked.push('a JWT');
  return leaked;
}
