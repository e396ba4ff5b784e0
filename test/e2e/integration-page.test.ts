import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/errors/app-error.js';
import { EPIC_API_MANIFEST } from '../../functions/core/integration/epic-api-manifest.js';
import { integrationPageContentSecurityPolicy } from '../../functions/core/integration/render-page.js';
import { integrationPageConfigFromEnv } from '../../functions/integration-page/handler.js';
import {
  createLocalRuntime,
  type LocalRuntime,
  NONPROD_CLIENT_ID,
  PROD_CLIENT_ID,
} from '../../local/runtime/app.js';
import { MemoryLogger } from '../helpers/fakes.js';

describe('GET /epic on the local runtime', () => {
  let runtime: LocalRuntime;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'integration-page-'));
    runtime = await createLocalRuntime({ stateDir, logger: new MemoryLogger() });
  });

  afterAll(async () => {
    await runtime?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('serves the page as HTML with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${runtime.url}/epic`);
    const html = await res.text();

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(integrationPageContentSecurityPolicy());
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html).toMatch(/^<!doctype html>/);
  });

  it("names this environment's JWK Set URL and refresh endpoint from the URL it was reached at", async () => {
    const html = await (await fetch(`${runtime.url}/epic`)).text();

    expect(html).toContain(`<code>${runtime.jwksUrl}</code>`);
    expect(html).toContain(`<code>${runtime.refreshUrl}</code>`);
    expect(html).toContain(`<code>${NONPROD_CLIENT_ID}</code>`);
    expect(html).toContain(`<code>${PROD_CLIENT_ID}</code>`);
  });

  it('counts every API of the manifest', async () => {
    const html = await (await fetch(`${runtime.url}/epic`)).text();

    expect(/<strong id="api-total">(\d+)<\/strong>/.exec(html)?.[1]).toBe(String(EPIC_API_MANIFEST.length));
  });

  it('refuses other methods with 405', async () => {
    const res = await fetch(`${runtime.url}/epic`, { method: 'POST', body: '{}' });

    expect(res.status).toBe(405);
    expect(((await res.json()) as { error: string }).error).toBe('method_not_allowed');
  });
});

describe('integrationPageConfigFromEnv', () => {
  it('reads the environment and both client ids', () => {
    const config = integrationPageConfigFromEnv({
      EPIC_ENVIRONMENT: 'prod',
      EPIC_CLIENT_ID_NONPROD: NONPROD_CLIENT_ID,
      EPIC_CLIENT_ID_PROD: PROD_CLIENT_ID,
      PUBLIC_BASE_URL: 'https://api.example.org',
    });

    expect(config).toEqual({
      environment: 'prod',
      clientIds: { nonprod: NONPROD_CLIENT_ID, prod: PROD_CLIENT_ID },
      publicBaseUrl: 'https://api.example.org',
    });
  });

  it('reports each missing value as required, all at once', () => {
    let error: unknown;
    try {
      integrationPageConfigFromEnv({ EPIC_CLIENT_ID_PROD: '  ' });
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'EPIC_ENVIRONMENT: required',
      'EPIC_CLIENT_ID_NONPROD: required (the Epic client id registered for nonprod)',
      'EPIC_CLIENT_ID_PROD: required (the Epic client id registered for prod)',
    ]);
  });

  it('reports every missing or bad value at once', () => {
    let error: unknown;
    try {
      integrationPageConfigFromEnv({ EPIC_ENVIRONMENT: 'staging', PUBLIC_BASE_URL: 'http://x.example.org' });
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split(':')[0])).toEqual([
      'EPIC_ENVIRONMENT',
      'EPIC_CLIENT_ID_NONPROD',
      'EPIC_CLIENT_ID_PROD',
      'PUBLIC_BASE_URL',
    ]);
  });
});
