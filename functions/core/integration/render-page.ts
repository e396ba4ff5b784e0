import { createHash } from 'node:crypto';
import type { Capability } from './capabilities.js';
import { type EpicApi, groupByArea } from './epic-api-manifest.js';

/**
 * The integration page for a health system's Epic analyst (`GET /epic`): one self-contained HTML
 * document (inline CSS, no script, no external asset), readable without JavaScript and printable.
 * Pure: everything environment-specific comes in through the input.
 */
export type EpicEnvironment = 'nonprod' | 'prod';

export interface IntegrationPageInput {
  /** The environment serving the page. */
  environment: EpicEnvironment;
  clientIds: { nonprod: string; prod: string };
  /** The public JWK Set URL of the environment serving the page. */
  jwksUrl: string;
  /** The token refresh endpoint of the environment serving the page. */
  refreshUrl: string;
  manifest: readonly EpicApi[];
  capabilities: readonly Capability[];
  /** Product name shown in the title. */
  productName?: string;
}

const ENV_LABEL: Record<EpicEnvironment, string> = { nonprod: 'Non-production', prod: 'Production' };

export const INTEGRATION_PAGE_CSS = `
:root{--ink:#1b2430;--muted:#55606e;--line:#d8dee6;--bg:#f5f7fa;--card:#fff;--accent:#0b5cad;--accent-soft:#e7f0fa;--warn:#8a5a00;--warn-soft:#fff4dc;--ok:#1e6b3a;--ok-soft:#e3f4e8;--bad:#a12a2a;--bad-soft:#fbe7e7}
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg);line-height:1.5;font-size:16px}
body{margin:0}
a{color:var(--accent)}
a:focus-visible,summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px;border-radius:4px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;background:#eef1f5;border-radius:4px;padding:.05em .3em;overflow-wrap:anywhere}
.skip{position:absolute;left:-999px}
.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:1}
header.top{background:#10263f;color:#fff;padding:2rem 1.5rem 1.5rem}
header.top .wrap{max-width:64rem;margin:0 auto}
header.top h1{margin:.25rem 0 .5rem;font-size:1.8rem;line-height:1.2}
header.top p{margin:0;color:#c9d6e6;max-width:48rem}
.eyebrow{text-transform:uppercase;letter-spacing:.08em;font-size:.75rem;color:#9fb6d1;margin:0}
.env{display:inline-block;margin-left:.5rem;padding:.1rem .6rem;border-radius:999px;font-size:.8rem;font-weight:600;vertical-align:middle;background:#ffd479;color:#3b2a00}
.env.prod{background:#ff9b9b;color:#3d0000}
nav.toc{max-width:64rem;margin:0 auto;padding:.75rem 1.5rem}
nav.toc ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem}
nav.toc a{font-size:.9rem;text-decoration:none}
nav.toc a:hover{text-decoration:underline}
main{max-width:64rem;margin:0 auto;padding:0 1.5rem 3rem}
section.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1.25rem 1.5rem;margin:1.25rem 0;box-shadow:0 1px 2px rgba(16,38,63,.05)}
h2{font-size:1.35rem;margin:0 0 .75rem;line-height:1.25}
h3{font-size:1.05rem;margin:1.25rem 0 .5rem}
p{margin:.5rem 0}
table{border-collapse:collapse;width:100%;font-size:.95rem}
caption{text-align:left;font-weight:600;padding:0 0 .5rem;color:var(--muted);font-size:.85rem}
th,td{text-align:left;vertical-align:top;padding:.5rem .6rem;border-bottom:1px solid var(--line)}
thead th{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);background:#f0f3f7}
table.identity th[scope=row]{width:16rem;font-weight:600}
table.identity td code{font-size:.95em}
.tag{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.75rem;font-weight:600;white-space:nowrap}
.tag.this{background:var(--accent-soft);color:var(--accent)}
.tag.scope{background:var(--ok-soft);color:var(--ok)}
.tag.org{background:var(--warn-soft);color:var(--warn)}
.tag.called{background:#10263f;color:#fff}
.callout{border-left:4px solid var(--accent);background:var(--accent-soft);padding:.75rem 1rem;border-radius:0 8px 8px 0;margin:1rem 0}
.summary-line{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;margin:.25rem 0 1rem;color:var(--muted)}
.summary-line strong{color:var(--ink);font-size:1.1rem}
details.api-group{border:1px solid var(--line);border-radius:8px;margin:.5rem 0;background:#fff}
details.api-group>summary{cursor:pointer;padding:.65rem 1rem;font-weight:600;display:flex;align-items:center;gap:.75rem;list-style:none}
details.api-group>summary::-webkit-details-marker{display:none}
details.api-group>summary::before{content:"\\25B8";color:var(--muted);transition:transform .15s}
details.api-group[open]>summary::before{transform:rotate(90deg)}
details.api-group>summary:hover{background:#f7f9fb}
details.api-group[open]>summary{border-bottom:1px solid var(--line)}
.count{margin-left:auto;background:#eef1f5;border-radius:999px;padding:.05rem .6rem;font-size:.8rem;color:var(--ink)}
details.api-group table{margin:0}
details.api-group td:first-child{font-weight:500}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
table.diagnostics td:first-child code{white-space:nowrap}
table.diagnostics td:nth-child(4),table.diagnostics td:nth-child(5){min-width:14rem}
.two-col{display:grid;grid-template-columns:1fr 1fr;gap:0 1.5rem}
.two-col ul{padding-left:1.2rem;margin:.25rem 0}
ol.steps{padding-left:0;list-style:none;counter-reset:step;margin:.5rem 0}
ol.steps li{counter-increment:step;position:relative;padding:.25rem 0 .75rem 2.75rem}
ol.steps li::before{content:counter(step);position:absolute;left:0;top:.2rem;width:1.9rem;height:1.9rem;border-radius:50%;background:var(--accent);color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center;font-size:.9rem}
ol.steps strong{display:block}
.sev{font-weight:600;text-transform:capitalize}
.sev.error{color:var(--bad)}
.sev.warning{color:var(--warn)}
.sev.information{color:var(--muted)}
.muted{color:var(--muted)}
footer{max-width:64rem;margin:0 auto;padding:0 1.5rem 2rem;color:var(--muted);font-size:.85rem}
.print-only{display:none}
@media (max-width:700px){.two-col{grid-template-columns:1fr}table.identity th[scope=row]{width:auto}}
@media print{
html{background:#fff;font-size:11pt}
header.top{background:none;color:#000;padding:0 0 .5rem;border-bottom:2px solid #000}
header.top p,.eyebrow{color:#333}
.env{border:1px solid #000;background:none;color:#000}
nav.toc,.skip,.screen-only{display:none}
.print-only{display:block}
main,footer{max-width:none;padding:0}
section.card{border:none;box-shadow:none;padding:0;margin:1rem 0;break-inside:auto}
h2{break-after:avoid}
tr,ol.steps li{break-inside:avoid}
a{color:#000}
a[href^="http"]::after{content:" (" attr(href) ")";font-size:.85em}
.tag{border:1px solid #666;background:none!important;color:#000!important}
ol.steps li::before{background:none;color:#000;border:1px solid #000}
}
`;

/** CSP for the page: nothing but its own inline stylesheet (pinned by hash) may load. */
export function integrationPageContentSecurityPolicy(): string {
  const styleHash = createHash('sha256').update(INTEGRATION_PAGE_CSS, 'utf8').digest('base64');
  return [
    "default-src 'none'",
    `style-src 'sha256-${styleHash}'`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Escapes, then renders `text` between backticks as <code>. */
function prose(value: string): string {
  return escapeHtml(value).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function linkOrText(where: string): string {
  if (/^https:\/\/[^\s"'<>]+$/.test(where)) {
    const safe = escapeHtml(where);
    return `<a href="${safe}" rel="noopener noreferrer">${safe}</a>`;
  }
  return prose(where);
}

function grantedByTag(api: EpicApi): string {
  return api.grantedBy === 'scope'
    ? '<span class="tag scope">App scope</span>'
    : '<span class="tag org">Organization configuration</span>';
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function renderIdentity(input: IntegrationPageInput): string {
  const env = input.environment;
  const thisClientId = input.clientIds[env];
  const row = (label: string, value: string, current: boolean, id: string) =>
    `<tr data-field="${id}"><th scope="row">${escapeHtml(label)}</th><td><code>${escapeHtml(value)}</code>${
      current ? ' <span class="tag this">this environment</span>' : ''
    }</td></tr>`;
  return `<section class="card" id="identity" aria-labelledby="identity-h">
<h2 id="identity-h">1. Application identity</h2>
<p>We are one Epic <strong>Backend Systems</strong> app with two client ids. The URLs below belong to the <strong>${escapeHtml(
    ENV_LABEL[env].toLowerCase(),
  )}</strong> environment that served this page.</p>
<table class="identity" id="identity-table">
<caption>Register these values in Epic</caption>
<tbody>
${row('Production client ID', input.clientIds.prod, env === 'prod', 'prod-client-id')}
${row('Non-production client ID', input.clientIds.nonprod, env === 'nonprod', 'nonprod-client-id')}
${row('JWK Set URL', input.jwksUrl, false, 'jwks-url')}
${row('Token refresh endpoint', input.refreshUrl, false, 'refresh-url')}
</tbody>
</table>
<div class="callout" id="register-instruction"><strong>Register the JWK Set URL with the client id.</strong> In the app's registration, enter <code>${escapeHtml(
    input.jwksUrl,
  )}</code> as the ${escapeHtml(ENV_LABEL[env].toLowerCase())} JWK Set URL of client <code>${escapeHtml(
    thisClientId,
  )}</code>. Epic fetches our public signing keys from it; we never send a private key, and static key uploads are no longer accepted. The token refresh endpoint is ours, for our own services: nothing to register.</div>
</section>`;
}

function renderApiTable(apis: readonly EpicApi[], capabilityTitles: Map<string, string>): string {
  const rows = apis
    .map(
      (api) => `<tr data-api-id="${api.epicApiId}">
<td>${escapeHtml(api.name)}${api.calledByCode ? ' <span class="tag called" title="Called by the product today">in use</span>' : ''}<br><span class="muted">${escapeHtml(api.purpose)}</span></td>
<td>${escapeHtml(api.fhirVersion)}</td>
<td class="num">${api.epicApiId}</td>
<td>${grantedByTag(api)}</td>
<td>${api.usedBy.map((id) => escapeHtml(capabilityTitles.get(id) ?? id)).join(', ')}</td>
</tr>`,
    )
    .join('\n');
  return `<table>
<thead><tr><th scope="col">Epic API</th><th scope="col">FHIR</th><th scope="col">API id</th><th scope="col">Granted by</th><th scope="col">Used for</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function renderApis(input: IntegrationPageInput, capabilityTitles: Map<string, string>): string {
  const groups = groupByArea(input.manifest);
  const total = input.manifest.length;
  const byOrg = input.manifest.filter((a) => a.grantedBy === 'organization-configuration').length;
  const called = input.manifest.filter((a) => a.calledByCode).length;
  const details = groups
    .map(
      (
        g,
      ) => `<details class="api-group screen-only" data-area="${escapeHtml(g.area)}" id="apis-${slug(g.area)}">
<summary><span class="area-name">${escapeHtml(g.area)}</span><span class="count" aria-label="${plural(g.apis.length, 'API', 'APIs')}">${g.apis.length}</span></summary>
${renderApiTable(g.apis, capabilityTitles)}
</details>`,
    )
    .join('\n');
  const printTables = groups
    .map(
      (g) => `<h3>${escapeHtml(g.area)} (${g.apis.length})</h3>\n${renderApiTable(g.apis, capabilityTitles)}`,
    )
    .join('\n');
  return `<section class="card" id="apis" aria-labelledby="apis-h">
<h2 id="apis-h">2. Epic APIs to enable on our client</h2>
<div class="summary-line"><span><strong id="api-total">${total}</strong> APIs in total</span><span><strong>${groups.length}</strong> areas</span><span><strong>${called}</strong> called today</span><span><strong>${byOrg}</strong> also need organization configuration</span></div>
<p><span class="tag scope">App scope</span> APIs are granted once they are on the app's registration. <span class="tag org">Organization configuration</span> APIs are granted the same way but only answer once your organization has built what they run on (for <code>Appointment.$find</code>: the scheduling decision rules, see section 3). Open an area to see its APIs.</p>
${details}
<div class="print-only">${printTables}</div>
</section>`;
}

function renderCapability(cap: Capability, index: number): string {
  const list = (items: readonly string[]) => `<ul>${items.map((i) => `<li>${prose(i)}</li>`).join('')}</ul>`;
  const steps = cap.setupSteps
    .map((s) => `<li><strong>${prose(s.title)}</strong>${prose(s.detail)}</li>`)
    .join('\n');
  const docs =
    cap.buildDocumentation.length === 0
      ? ''
      : `<h3>Where Epic keeps its own build documentation</h3><ul>${cap.buildDocumentation
          .map((d) => `<li><strong>${prose(d.label)}</strong>: ${linkOrText(d.where)}</li>`)
          .join('')}</ul>`;
  const diagnostics =
    cap.diagnostics.length === 0
      ? ''
      : `<h3>What our diagnostic codes mean</h3>
<p>When a search comes back empty or partial, our API explains why in <code>diagnostics[]</code>:</p>
<table class="diagnostics">
<thead><tr><th scope="col">Our code</th><th scope="col">Epic code</th><th scope="col">Severity</th><th scope="col">Meaning</th><th scope="col">What to do</th></tr></thead>
<tbody>
${cap.diagnostics
  .map(
    (d) =>
      `<tr data-code="${escapeHtml(d.code)}"><td><code>${escapeHtml(d.code)}</code></td><td class="num">${
        d.epicCode ? escapeHtml(d.epicCode) : '<span class="muted">—</span>'
      }</td><td><span class="sev ${d.severity}">${d.severity}</span></td><td>${prose(d.meaning)}</td><td>${prose(d.whatToDo)}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>`;
  return `<section class="card capability" id="capability-${escapeHtml(cap.id)}" aria-labelledby="capability-${escapeHtml(cap.id)}-h">
<h2 id="capability-${escapeHtml(cap.id)}-h">${index}. ${prose(cap.title)}</h2>
<p>${prose(cap.summary)}</p>
<div class="two-col">
<div><h3>What it is</h3>${list(cap.whatItIs)}</div>
<div><h3>What it is not</h3>${list(cap.whatItIsNot)}</div>
</div>
<h3>Setup steps for your Epic team</h3>
<ol class="steps">
${steps}
</ol>
${docs}
${diagnostics}
</section>`;
}

export function renderIntegrationPage(input: IntegrationPageInput): string {
  const product = input.productName ?? 'Epic integration';
  const envLabel = ENV_LABEL[input.environment];
  const capabilityTitles = new Map(input.capabilities.map((c) => [c.id, c.title.split(':')[0] ?? c.title]));
  const capabilitySections = input.capabilities.map((c, i) => renderCapability(c, i + 3)).join('\n');
  const toc = [
    ['identity', 'Application identity'],
    ['apis', 'Epic APIs'],
    ...input.capabilities.map((c) => [`capability-${c.id}`, c.title.split(':')[0] ?? c.title]),
  ]
    .map(([id, label]) => `<li><a href="#${escapeHtml(id ?? '')}">${escapeHtml(label ?? '')}</a></li>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(product)}: setup for Epic analysts (${escapeHtml(envLabel)})</title>
<style>${INTEGRATION_PAGE_CSS}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="wrap">
<p class="eyebrow">For the health system's Epic analysts</p>
<h1>${escapeHtml(product)}: what to register and what to build <span class="env ${input.environment}">${escapeHtml(envLabel)}</span></h1>
<p>Everything your Epic team needs to connect this Backend Systems app: the identity to register, the APIs to enable, and the build each capability relies on. Before go-live we run a preflight against your environment that checks every step below.</p>
</div></header>
<nav class="toc" aria-label="On this page"><ul>${toc}</ul></nav>
<main id="main">
${renderIdentity(input)}
${renderApis(input, capabilityTitles)}
${capabilitySections}
</main>
<footer><p>Served by the ${escapeHtml(envLabel.toLowerCase())} environment. This page is generated from the product's API manifest and configuration; it changes only when they do.</p></footer>
</body>
</html>
`;
}
