import { describe, expect, it } from 'vitest';
import { formatPreflightReport } from '../../../functions/core/preflight/format-report.js';

describe('formatPreflightReport', () => {
  it('prints one row per check with its status, and the fix under a check that does not pass', () => {
    const text = formatPreflightReport({
      tenant: 'acme',
      ok: false,
      checks: [
        { name: 'jwks', status: 'pass', message: 'Serves the active key.', fix: null },
        {
          name: 'token',
          status: 'fail',
          message: 'Epic refused (unauthorized_client).',
          fix: 'Map the client id.',
        },
        { name: 'find:95014', status: 'skip', message: 'Skipped: no access token.', fix: null },
      ],
    });

    const lines = text.split('\n');
    expect(lines[0]).toBe('Preflight for tenant "acme"');
    expect(lines).toContain('PASS    jwks        Serves the active key.');
    expect(lines).toContain('FAIL    token       Epic refused (unauthorized_client).');
    expect(lines).toContain('                    Fix: Map the client id.');
    expect(lines).toContain('SKIP    find:95014  Skipped: no access token.');
    expect(text).toContain('NOT READY: 1 passed, 0 warning(s), 1 failed, 1 skipped.');
  });
});
