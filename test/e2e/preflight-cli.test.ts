import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreflightReport } from '../../functions/core/preflight/run-preflight.js';
import { createLocalRuntime, type LocalRuntime } from '../../local/runtime/app.js';
import { MemoryLogger } from '../helpers/fakes.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(tsx, ['local/preflight/cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run preflight (the CLI) on the embedded sandbox', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'preflight-cli-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('prints the table and exits 0 when nothing fails', async () => {
    const { code, stdout } = await cli(['--tenant', 'sandbox-pbs'], { STATE_DIR: stateDir });

    expect(stdout).toContain('Preflight for tenant "sandbox-pbs"');
    expect(stdout).toMatch(/^PASS {4}token {2,}Epic issued an access token/m);
    expect(stdout).toMatch(/^PASS {4}practitioner-hint/m);
    expect(stdout).toContain('OK: 9 passed, 0 warning(s), 0 failed, 0 skipped.');
    expect(code).toBe(0);
  });

  it('exits 2 and names the known tenants for an unknown tenant', async () => {
    const { code, stderr } = await cli(['--tenant', 'nope'], { STATE_DIR: stateDir });

    expect(code).toBe(2);
    expect(stderr).toContain('Unknown tenant "nope"');
  });

  it('exits 2 naming KMS_KEY_IDS when KEY_SOURCE=kms has no key list, as npm start does', async () => {
    const { code, stderr } = await cli(['--tenant', 'sandbox'], {
      STATE_DIR: stateDir,
      KEY_SOURCE: 'kms',
      KMS_KEY_IDS: '',
    });

    expect(code).toBe(2);
    expect(stderr).toContain('KMS_KEY_IDS: required when KEY_SOURCE=kms');
  });

  it('exits 2 with the usage when --tenant is missing', async () => {
    const { code, stderr } = await cli([], {});

    expect(code).toBe(2);
    expect(stderr).toContain('Usage: npm run preflight -- --tenant <id>');
  });
});

describe('POST /epic/preflight on the local runtime', () => {
  let runtime: LocalRuntime;
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'preflight-route-'));
    runtime = await createLocalRuntime({ stateDir, logger: new MemoryLogger() });
  });
  afterAll(async () => {
    await runtime?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('returns the report of API.md', async () => {
    const res = await fetch(`${runtime.url}/epic/preflight`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tenant: 'sandbox' }),
    });
    const report = (await res.json()) as PreflightReport;

    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(report.tenant).toBe('sandbox');
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.name === 'practitioner-hint')).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('Configure provider-based scheduling'),
    });
    expect(Object.keys(report.checks[0] ?? {}).sort()).toEqual(['fix', 'message', 'name', 'status']);
  });

  it('answers 404 unknown_tenant and 400 for a bad body', async () => {
    const post = (body: unknown) =>
      fetch(`${runtime.url}/epic/preflight`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });

    const unknown = await post({ tenant: 'nope' });
    const bad = await post({ tenant: 'sandbox', extra: 1 });

    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe('unknown_tenant');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { details: { field: string } }).details.field).toBe('extra');
  });
});
