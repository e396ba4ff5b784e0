import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPIC_API_MANIFEST, groupByArea } from '../../functions/core/integration/epic-api-manifest.js';
import {
  createLocalRuntime,
  type LocalRuntime,
  NONPROD_CLIENT_ID,
  PROD_CLIENT_ID,
} from '../../local/runtime/app.js';
import { MemoryLogger } from '../helpers/fakes.js';

/**
 * The integration page in a real browser (Debian's chromium, headless) served by the local runtime.
 * CHROMIUM_PATH overrides the executable.
 */
const here = dirname(fileURLToPath(import.meta.url));
const artifactDir = join(here, '..', '..', 'test-artifacts');
const screenshotPath = join(artifactDir, 'integration-page.png');

describe('the integration page in a browser', () => {
  let runtime: LocalRuntime;
  let stateDir: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'integration-page-browser-'));
    runtime = await createLocalRuntime({ stateDir, logger: new MemoryLogger() });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    page.on('request', (req) => requests.push(req.url()));
    const response = await page.goto(`${runtime.url}/epic`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
  });

  afterAll(async () => {
    await browser?.close();
    await runtime?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('shows the four identity values in a table', async () => {
    const rows = page.locator('table#identity-table tbody tr');

    const cells = await rows.evaluateAll((trs) =>
      trs.map((tr) => [
        tr.querySelector('th')?.textContent ?? '',
        tr.querySelector('td code')?.textContent ?? '',
      ]),
    );

    expect(cells).toEqual([
      ['Production client ID', PROD_CLIENT_ID],
      ['Non-production client ID', NONPROD_CLIENT_ID],
      ['JWK Set URL', runtime.jwksUrl],
      ['Token refresh endpoint', runtime.refreshUrl],
    ]);
  });

  it('shows each area with the count of its APIs and the total, as the manifest has them', async () => {
    const groups = groupByArea(EPIC_API_MANIFEST);

    const shown = await page
      .locator('details.api-group')
      .evaluateAll((ds) =>
        ds.map((d) => [
          d.querySelector('.area-name')?.textContent ?? '',
          d.querySelector('.count')?.textContent ?? '',
        ]),
      );

    expect(shown).toEqual(groups.map((g) => [g.area, String(g.apis.length)]));
    expect(await page.locator('#api-total').textContent()).toBe(String(EPIC_API_MANIFEST.length));
  });

  it('expands a group on click and lists its APIs', async () => {
    const group = page.locator('details.api-group[data-area="Appointment, Schedule, Slot"]');
    const firstRow = group.locator('tbody tr').first();
    await expect.poll(() => firstRow.isVisible()).toBe(false);

    await group.locator('summary').click();

    await expect.poll(() => firstRow.isVisible()).toBe(true);
    const names = await group
      .locator('tbody tr td:first-child')
      .evaluateAll((tds) => tds.map((td) => td.childNodes[0]?.textContent?.trim() ?? ''));
    const expected = EPIC_API_MANIFEST.filter((a) => a.area === 'Appointment, Schedule, Slot').map(
      (a) => a.name,
    );
    expect(names).toEqual(expected);
  });

  it('expands a group from the keyboard', async () => {
    const group = page.locator('details.api-group[data-area="Patient"]');
    await group.locator('summary').focus();

    await page.keyboard.press('Enter');

    await expect.poll(() => group.evaluate((d) => d.hasAttribute('open'))).toBe(true);
  });

  it('loads nothing but the page and logs no console error', async () => {
    await page.screenshot({ path: screenshotPath, fullPage: true });

    expect(consoleErrors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('data:'))).toEqual([`${runtime.url}/epic`]);
    expect((await stat(screenshotPath)).size).toBeGreaterThan(10_000);
  });
});

await mkdir(artifactDir, { recursive: true });
