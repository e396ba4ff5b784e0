import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../functions/core/errors/app-error.js';
import { readMinterConfig, readReaderConfig } from '../../functions/lambda/config.js';

const TENANT = {
  id: 'a',
  name: 'A',
  fhirBaseUrl: 'https://a.example.org/FHIR/R4',
  scheduling: {
    serviceTypeSystem: 'urn:oid:1.2',
    serviceTypes: [{ code: '1' }],
    providerBasedScheduling: true,
  },
};

/** A reader environment without its tenants (the tests add TENANTS_FILE or TENANTS_JSON). */
const READER_ENV = {
  EPIC_CLIENT_ID: 'c',
  TOKEN_SECRET_PREFIX: 'epic/nonprod/token/',
  MINTER_FUNCTION_NAME: 'minter',
};

/** The problems of the ConfigError `read` throws (fails the test when it does not throw one). */
function problemsOf(read: () => unknown): readonly string[] {
  try {
    read();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('Lambda configuration from the environment', () => {
  it('lists every missing or bad value together', () => {
    let message = '';
    try {
      readMinterConfig({
        TENANTS_JSON: '{"tenants":[{"id":"X"}]}',
        SIGNING_KEYS_JSON: '[]',
        FORCE_REFRESH_MIN_INTERVAL_SECONDS: 'soon',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/EPIC_CLIENT_ID: required/);
    expect(message).toMatch(/TENANTS_JSON: tenants\[0\]\.id/);
    expect(message).toMatch(/SIGNING_KEYS_JSON: /);
    expect(message).toMatch(/TOKEN_SECRET_PREFIX: required/);
    expect(message).toMatch(/FORCE_REFRESH_MIN_INTERVAL_SECONDS: "soon"/);
  });

  it('reads a complete reader environment', () => {
    const config = readReaderConfig({ ...READER_ENV, TENANTS_JSON: JSON.stringify({ tenants: [TENANT] }) });
    expect(config).toMatchObject({ clientId: 'c', environment: 'nonprod', safetyMarginSeconds: 60 });
    expect(config.tenants.tenants.map((t) => t.id)).toEqual(['a']);
  });
});

describe('the tenants of a Lambda', () => {
  let taskRoot: string;

  beforeAll(() => {
    // Arrange: a bundle directory as Lambda unpacks it, with the tenants file the stack ships.
    taskRoot = mkdtempSync(join(tmpdir(), 'lambda-task-root-'));
    writeFileSync(join(taskRoot, 'tenants.json'), JSON.stringify({ tenants: [TENANT] }));
    writeFileSync(join(taskRoot, 'empty.json'), JSON.stringify({ tenants: [] }));
    writeFileSync(join(taskRoot, 'broken.json'), '{"tenants": [');
    mkdirSync(join(taskRoot, 'a-directory'));
  });

  afterAll(() => {
    rmSync(taskRoot, { recursive: true, force: true });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('when TENANTS_FILE names a file', () => {
    it('reads a relative path from LAMBDA_TASK_ROOT (where Lambda unpacks the bundle)', () => {
      const config = readReaderConfig({
        ...READER_ENV,
        TENANTS_FILE: 'tenants.json',
        LAMBDA_TASK_ROOT: taskRoot,
      });
      expect(config.tenants.tenants.map((t) => t.id)).toEqual(['a']);
      // the same validation as everywhere else: the STU3 base is derived from the R4 base
      expect(config.tenants.tenants[0]?.stu3BaseUrl).toBe('https://a.example.org/FHIR/STU3');
    });

    it('reads a relative path from the working directory when LAMBDA_TASK_ROOT is unset', () => {
      vi.spyOn(process, 'cwd').mockReturnValue(taskRoot);
      const config = readReaderConfig({ ...READER_ENV, TENANTS_FILE: 'tenants.json' });
      expect(config.tenants.tenants.map((t) => t.id)).toEqual(['a']);
    });

    it('reads an absolute path as it is', () => {
      const config = readMinterConfig({
        ...READER_ENV,
        TENANTS_FILE: join(taskRoot, 'tenants.json'),
        LAMBDA_TASK_ROOT: '/somewhere/else',
        SIGNING_KEYS_JSON: JSON.stringify([{ keyId: 'k', alg: 'RS384', state: 'active' }]),
      });
      expect(config.tenants.tenants.map((t) => t.id)).toEqual(['a']);
    });

    it('accepts an empty tenant list (an environment before its first health system)', () => {
      const config = readReaderConfig({
        ...READER_ENV,
        TENANTS_FILE: 'empty.json',
        LAMBDA_TASK_ROOT: taskRoot,
      });
      expect(config.tenants).toEqual({ tenants: [] });
    });

    it('says which path it could not read, and why', () => {
      const missing = problemsOf(() =>
        readReaderConfig({ ...READER_ENV, TENANTS_FILE: 'nope.json', LAMBDA_TASK_ROOT: taskRoot }),
      );
      expect(missing).toEqual([`TENANTS_FILE: cannot read "${join(taskRoot, 'nope.json')}" (ENOENT)`]);
      const directory = problemsOf(() =>
        readReaderConfig({ ...READER_ENV, TENANTS_FILE: 'a-directory', LAMBDA_TASK_ROOT: taskRoot }),
      );
      expect(directory).toEqual([`TENANTS_FILE: cannot read "${join(taskRoot, 'a-directory')}" (EISDIR)`]);
    });

    it('reports a file that is not JSON under TENANTS_FILE, with the other problems', () => {
      const problems = problemsOf(() =>
        readReaderConfig({ TENANTS_FILE: 'broken.json', LAMBDA_TASK_ROOT: taskRoot }),
      );
      expect(problems).toEqual([
        'EPIC_CLIENT_ID: required',
        expect.stringMatching(/^TENANTS_FILE: not valid JSON: /),
        'TOKEN_SECRET_PREFIX: required',
        'MINTER_FUNCTION_NAME: required',
      ]);
    });
  });

  describe('when TENANTS_JSON holds the tenants', () => {
    it('accepts an empty tenant list', () => {
      const config = readReaderConfig({ ...READER_ENV, TENANTS_JSON: '{"tenants": []}' });
      expect(config.tenants).toEqual({ tenants: [] });
    });

    it('still rejects a file without a tenants array', () => {
      const problems = problemsOf(() => readReaderConfig({ ...READER_ENV, TENANTS_JSON: '{}' }));
      expect(problems).toEqual(['TENANTS_JSON: tenants: must be an array (it may be empty)']);
    });
  });

  it('refuses both TENANTS_FILE and TENANTS_JSON, rather than pick one', () => {
    const problems = problemsOf(() =>
      readReaderConfig({
        ...READER_ENV,
        TENANTS_FILE: 'tenants.json',
        LAMBDA_TASK_ROOT: taskRoot,
        TENANTS_JSON: JSON.stringify({ tenants: [TENANT] }),
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^TENANTS_FILE, TENANTS_JSON: both are set; set exactly one/),
    ]);
  });

  it('requires one of TENANTS_FILE and TENANTS_JSON', () => {
    const problems = problemsOf(() => readReaderConfig({ ...READER_ENV, TENANTS_JSON: '  ' }));
    expect(problems).toEqual([expect.stringMatching(/^TENANTS_FILE: required .*or give TENANTS_JSON/)]);
  });
});
