import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CAPABILITIES, SCHEDULING_CAPABILITY } from '../../../functions/core/integration/capabilities.js';
import { EPIC_API_MANIFEST, type EpicApi } from '../../../functions/core/integration/epic-api-manifest.js';
import {
  INTEGRATION_PAGE_CSS,
  type IntegrationPageInput,
  integrationPageContentSecurityPolicy,
  renderIntegrationPage,
} from '../../../functions/core/integration/render-page.js';
import { DIAGNOSTIC } from '../../../functions/core/scheduling/diagnostics.js';

const NONPROD = '87b94317-7a53-4a96-8a89-998bd31f3ade';
const PROD = '5a684d86-fa5e-48c0-ad06-233701199d87';

function input(overrides: Partial<IntegrationPageInput> = {}): IntegrationPageInput {
  return {
    environment: 'nonprod',
    clientIds: { nonprod: NONPROD, prod: PROD },
    jwksUrl: 'https://staging.example.org/epic/oauth',
    refreshUrl: 'https://staging.example.org/epic/oauth/refresh',
    manifest: EPIC_API_MANIFEST,
    capabilities: CAPABILITIES,
    ...overrides,
  };
}

const api = (name: string, area: string, epicApiId: number): EpicApi => ({
  name,
  epicApiId,
  fhirVersion: 'R4',
  area,
  grantedBy: 'scope',
  usedBy: ['scheduling'],
  calledByCode: false,
  purpose: 'test',
});

/** The rows of the identity table as [label, cell text]. */
function identityRows(html: string): string[][] {
  const table = /<table class="identity"[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
  return [...table.matchAll(/<th scope="row">(.*?)<\/th><td>(.*?)<\/td>/g)].map((m) => [
    m[1] ?? '',
    (m[2] ?? '').replace(/<[^>]+>/g, ''),
  ]);
}

describe('renderIntegrationPage', () => {
  describe('the application identity', () => {
    it('shows both client ids, the JWK Set URL and the refresh endpoint it is given', () => {
      const html = renderIntegrationPage(input());

      expect(identityRows(html)).toEqual([
        ['Production client ID', PROD],
        ['Non-production client ID', `${NONPROD} this environment`],
        ['JWK Set URL', 'https://staging.example.org/epic/oauth'],
        ['Token refresh endpoint', 'https://staging.example.org/epic/oauth/refresh'],
      ]);
    });

    it("tells the analyst to register the JWK Set URL with the serving environment's client id", () => {
      const nonprod = renderIntegrationPage(input());
      const prod = renderIntegrationPage(
        input({ environment: 'prod', jwksUrl: 'https://api.example.org/epic/oauth' }),
      );

      const instruction = (html: string) =>
        /<div class="callout" id="register-instruction">([\s\S]*?)<\/div>/.exec(html)?.[1] ?? '';
      expect(instruction(nonprod)).toContain(`<code>https://staging.example.org/epic/oauth</code>`);
      expect(instruction(nonprod)).toContain(`client <code>${NONPROD}</code>`);
      expect(instruction(prod)).toContain(`client <code>${PROD}</code>`);
      expect(identityRows(prod)[0]).toEqual(['Production client ID', `${PROD} this environment`]);
    });
  });

  describe('the Epic APIs', () => {
    it('shows one expandable group per area with its count, and the total, from the manifest', () => {
      const manifest = [
        api('A.Read (R4)', 'Area one', 1),
        api('B.Read (R4)', 'Area two', 2),
        api('A.Search (R4)', 'Area one', 3),
      ];

      const html = renderIntegrationPage(input({ manifest }));

      const groups = [
        ...html.matchAll(
          /<details class="api-group[^"]*" data-area="([^"]+)"[\s\S]*?<span class="count"[^>]*>(\d+)<\/span>/g,
        ),
      ];
      expect(groups.map((g) => [g[1], g[2]])).toEqual([
        ['Area one', '2'],
        ['Area two', '1'],
      ]);
      expect(/<strong id="api-total">(\d+)<\/strong>/.exec(html)?.[1]).toBe('3');
    });

    it('lists every manifest API by its Epic name and id', () => {
      const html = renderIntegrationPage(input());

      for (const entry of EPIC_API_MANIFEST) {
        expect(html).toContain(
          `<tr data-api-id="${entry.epicApiId}">\n<td>${entry.name.replace(/&/g, '&amp;')}`,
        );
      }
    });
  });

  describe('the scheduling section', () => {
    it('explains every diagnostic code our API returns, with its Epic code', () => {
      const html = renderIntegrationPage(input());

      for (const [code, epicCode] of [
        ['no-open-slots', '4101'],
        ['visit-type-not-determined', '59200'],
        ['provider-template-problem', '59134'],
        ['parameter-ignored', '59109'],
        ['provider-not-in-results', undefined],
      ] as const) {
        const row = new RegExp(`<tr data-code="${code}">[\\s\\S]*?</tr>`).exec(html)?.[0];
        expect(row, code).toBeDefined();
        if (epicCode) expect(row).toContain(`<td class="num">${epicCode}</td>`);
      }
    });

    it('numbers the setup steps for provider-based scheduling, visit type codes and non-production confirmation', () => {
      const html = renderIntegrationPage(input());

      const section =
        /<section class="card capability" id="capability-scheduling"[\s\S]*?<\/section>/.exec(html)?.[0] ??
        '';
      const stepList = /<ol class="steps">[\s\S]*?<\/ol>/.exec(section)?.[0] ?? '';
      const steps = [...stepList.matchAll(/<li><strong>(.*?)<\/strong>/g)].map((m) => m[1]);
      expect(steps).toEqual(SCHEDULING_CAPABILITY.setupSteps.map((s) => s.title));
      expect(section).toContain('<ol class="steps">');
      expect(steps.join('|')).toMatch(/provider-based scheduling/i);
      expect(steps.join('|')).toMatch(/visit types/i);
      expect(steps.join('|')).toMatch(/non-production/i);
      expect(section).toContain('Where Epic keeps its own build documentation');
    });
  });

  describe('safety', () => {
    it('escapes every configured value', () => {
      const html = renderIntegrationPage(
        input({
          clientIds: { nonprod: '<script>alert(1)</script>', prod: PROD },
          jwksUrl: 'https://x.example.org/"><img src=x onerror=alert(1)>',
        }),
      );

      expect(html).not.toContain('<script>');
      expect(html).not.toContain('<img');
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    });

    it('loads nothing from elsewhere: no script, no external stylesheet, font or image', () => {
      const html = renderIntegrationPage(input());

      expect(html).not.toMatch(/<script/i);
      expect(html).not.toMatch(/\ssrc=/i);
      expect(html).not.toMatch(/<link /i);
      expect(INTEGRATION_PAGE_CSS).not.toMatch(/url\(|@import/);
    });

    it('pins its one inline stylesheet in the Content-Security-Policy by hash', () => {
      const html = renderIntegrationPage(input());
      const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
      const hash = createHash('sha256').update(style, 'utf8').digest('base64');

      const csp = integrationPageContentSecurityPolicy();

      expect(csp).toContain(`style-src 'sha256-${hash}'`);
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
    });
  });
});

describe('the diagnostics explained on the page', () => {
  it('cover every diagnostic code the scheduling code can return', () => {
    const explained = SCHEDULING_CAPABILITY.diagnostics.map((d) => d.code).sort();

    expect(explained).toEqual(Object.values(DIAGNOSTIC).sort());
  });
});
