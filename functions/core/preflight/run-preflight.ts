import type { TenantConfig } from '../config/tenants.js';
import type { ReaderDependencies } from '../dependencies.js';
import { FhirClient, type FhirResource } from '../epic/fhir-client.js';
import type { TokenUrlResolver } from '../epic/smart-configuration.js';
import { AppError } from '../errors/app-error.js';
import { HTTP_STATUS_BY_CODE } from '../errors/http-status.js';
import { fetchText } from '../http/retry.js';
import { findAppointments } from '../scheduling/find-appointments.js';
import { readFindBundle } from '../scheduling/normalize.js';
import {
  nameMatches,
  nameSearchUrl,
  PRACTITIONER_SEARCH_API,
  parseProviderName,
  type ResolvedProvider,
  toResolvedProvider,
} from '../scheduling/provider-resolution.js';
import type { FindSlotsRequest } from '../scheduling/validate-request.js';
import { isLoopbackHost } from '../values.js';

/**
 * Per-tenant preflight (API.md, `POST /epic/preflight`; `npm run preflight -- --tenant <id>`):
 * checks every step of a health system's Epic setup and, for each step not passing, says what an
 * Epic analyst has to do. Read-only towards Epic: it mints a token (forced, so Epic judges our
 * assertion now), searches practitioners and calls `$find` (which books nothing). Never logs or returns a token.
 */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface PreflightCheck {
  /** Stable check name, e.g. `token`, `find:95014`. */
  name: string;
  status: CheckStatus;
  message: string;
  /** What to do, in an Epic analyst's words; null when the check passes. */
  fix: string | null;
}

export interface PreflightReport {
  tenant: string;
  /** True when no check failed (warnings allowed). */
  ok: boolean;
  checks: PreflightCheck[];
}

export interface PreflightDependencies {
  reader: ReaderDependencies;
  tokenUrls: TokenUrlResolver;
  /** Our public JWK Set URL as Epic fetches it (the one registered with the client id). */
  jwksUrl: string;
  /** The kid of the key that signs assertions now. */
  activeKid: () => Promise<string>;
  fhir?: FhirClient;
}

export interface PreflightOptions {
  /** Days ahead `$find` searches; default 14. */
  windowDays?: number;
  /** A provider name for the Practitioner search probe; default: one `$find` proposed. */
  practitionerName?: string;
}

export const PREFLIGHT_CHECK = {
  tenantConfig: 'tenant-config',
  tokenUrl: 'token-url',
  jwks: 'jwks',
  token: 'token',
  practitionerSearch: 'practitioner-search',
  find: (code: string) => `find:${code}`,
  practitionerHint: 'practitioner-hint',
} as const;

/** Used when no name is given and `$find` proposed no provider: a permission probe only. */
const FALLBACK_PROBE_NAME = 'Smith';
const DAY_MS = 86_400_000;

const pass = (name: string, message: string): PreflightCheck => ({
  name,
  status: 'pass',
  message,
  fix: null,
});
const check = (name: string, status: CheckStatus, message: string, fix: string): PreflightCheck => ({
  name,
  status,
  message,
  fix,
});

/** 5xx codes about Epic whose messages explain what Epic did; safe and useful in the report. */
const EXPLAINED_5XX_CODES: ReadonlySet<string> = new Set([
  'epic_token_rejected',
  'epic_api_not_enabled',
  'epic_timeout',
  'epic_unavailable',
  'epic_rate_limited',
  'epic_discovery_failed',
  'epic_bad_response',
  'token_unavailable',
]);

/**
 * The error as the report may show it. The report is a 200 body, so other 5xx messages (our AWS
 * dependencies: they can name secrets or KMS key ids) are replaced by the code and a generic sentence.
 */
function errorText(error: unknown): string {
  if (error instanceof AppError) {
    const status = HTTP_STATUS_BY_CODE[error.code] ?? 500;
    if (status < 500 || EXPLAINED_5XX_CODES.has(error.code)) return error.message;
    return `${error.code}: a dependency of this service failed; the details are in our logs, not in this report.`;
  }
  return `unexpected ${error instanceof Error ? error.name : 'error'}`;
}

function tenantConfigCheck(tenant: TenantConfig): PreflightCheck {
  const s = tenant.scheduling;
  const codes = s.serviceTypes.map((t) => t.code).join(', ');
  return pass(
    PREFLIGHT_CHECK.tenantConfig,
    `"${tenant.name}": R4 ${tenant.fhirBaseUrl}, STU3 ${tenant.stu3BaseUrl}; service types ${codes} in ` +
      `${s.serviceTypeSystem}; provider-based scheduling ${s.providerBasedScheduling ? 'on' : 'off'}.`,
  );
}

async function tokenUrlCheck(tenant: TenantConfig, deps: PreflightDependencies): Promise<PreflightCheck> {
  try {
    const url = await deps.tokenUrls.tokenUrl(tenant);
    return pass(
      PREFLIGHT_CHECK.tokenUrl,
      tenant.tokenUrl
        ? `Token URL configured: ${url}.`
        : `Token URL discovered from ${tenant.fhirBaseUrl}/.well-known/smart-configuration: ${url}.`,
    );
  } catch (error) {
    return check(
      PREFLIGHT_CHECK.tokenUrl,
      'fail',
      `The token URL is not configured and could not be discovered: ${errorText(error)}`,
      `Confirm the organization's FHIR R4 base URL (it must serve .well-known/smart-configuration), or ask the ` +
        `Epic team for the OAuth 2.0 token endpoint and set "tokenUrl" in this tenant's config.`,
    );
  }
}

async function jwksCheck(deps: PreflightDependencies): Promise<PreflightCheck> {
  const name = PREFLIGHT_CHECK.jwks;
  const register = `Register ${deps.jwksUrl} as the JWK Set URL of client id ${deps.reader.clientId}.`;
  let url: URL;
  try {
    url = new URL(deps.jwksUrl);
  } catch {
    return check(
      name,
      'fail',
      `"${deps.jwksUrl}" is not a URL.`,
      'Configure the public JWK Set URL of this environment.',
    );
  }
  if (url.protocol !== 'https:' && !isLoopbackHost(url)) {
    return check(
      name,
      'fail',
      `${deps.jwksUrl} is not served over TLS; Epic fetches only https URLs.`,
      register,
    );
  }
  let kid: string;
  try {
    kid = await deps.activeKid();
  } catch (error) {
    return check(
      name,
      'fail',
      `Could not read our active signing key: ${errorText(error)}`,
      'Our side: check the signing key configuration (one key must be "active").',
    );
  }
  let response: { status: number; text: string };
  try {
    response = await fetchText(
      deps.reader.fetch,
      deps.jwksUrl,
      { headers: { Accept: 'application/json' } },
      5_000,
    );
  } catch (error) {
    return check(
      name,
      'fail',
      `Our JWK Set URL ${deps.jwksUrl} could not be fetched (${error instanceof Error ? error.name : 'error'}).`,
      'Our side: the JWK Set URL must be publicly reachable without authentication; check the deployment and DNS.',
    );
  }
  let kids: string[] = [];
  try {
    const body = JSON.parse(response.text) as { keys?: Array<{ kid?: unknown }> };
    kids = (body.keys ?? []).map((k) => k.kid).filter((k): k is string => typeof k === 'string');
  } catch {
    kids = [];
  }
  if (response.status !== 200) {
    return check(
      name,
      'fail',
      `Our JWK Set URL ${deps.jwksUrl} answered HTTP ${response.status}.`,
      'Our side: the JWK Set URL must answer 200 with the JWK Set, without authentication.',
    );
  }
  if (!kids.includes(kid)) {
    return check(
      name,
      'fail',
      `Our JWK Set at ${deps.jwksUrl} does not contain the active key ${kid} (it has ${kids.length ? kids.join(', ') : 'no keys'}).`,
      'Our side: publish the active key (state "active") in the JWK Set before signing with it.',
    );
  }
  return pass(name, `${deps.jwksUrl} serves ${kids.length} key(s) including the active key ${kid}.`);
}

async function tokenCheck(tenant: TenantConfig, deps: PreflightDependencies): Promise<PreflightCheck> {
  const name = PREFLIGHT_CHECK.token;
  const clientId = deps.reader.clientId;
  try {
    // Forced: a cached token proves only that Epic accepted an assertion once (e.g. before a key
    // promotion the organization has not seen); a fresh mint proves it accepts ours now.
    const provided = await deps.reader.tokens.forceRefresh(tenant.id);
    return pass(
      name,
      `Epic issued an access token for our client assertion now; valid until ${provided.token.expires_at}.`,
    );
  } catch (error) {
    if (error instanceof AppError && error.code === 'refresh_rate_limited') {
      return pass(
        name,
        'Epic issued an access token for our client assertion moments ago (forced refreshes are rate ' +
          'limited, so none was minted again); that proves Epic accepts the assertion.',
      );
    }
    // Matched by code and details, not by class: across the minter's Lambda invoke the error
    // arrives rebuilt as a plain AppError (appErrorFromJson).
    const epicError =
      error instanceof AppError &&
      error.code === 'epic_token_rejected' &&
      typeof error.details.epicError === 'string'
        ? error.details.epicError
        : undefined;
    if (epicError === 'invalid_client') {
      return check(
        name,
        'fail',
        `Epic refused our client assertion (invalid_client).`,
        `The key is not registered yet or the client has not synced: make sure the JWK Set URL ${deps.jwksUrl} ` +
          `is registered for client id ${clientId}, that the client is activated for this organization, and wait ` +
          'for the client sync (this can take hours) before trying again.',
      );
    }
    if (epicError === 'unauthorized_client') {
      return check(
        name,
        'fail',
        `Epic refused the token request (unauthorized_client): client id ${clientId} is not mapped to an Epic user.`,
        `Map the backend client id ${clientId} to an Epic (background) user in this organization's Epic.`,
      );
    }
    if (epicError !== undefined && error instanceof AppError) {
      const hint = error.details.hint;
      return check(
        name,
        'fail',
        `Epic refused the token request (${epicError}).`,
        typeof hint === 'string' ? hint : 'Check the app registration for this client id.',
      );
    }
    return check(
      name,
      'fail',
      `No access token could be obtained: ${errorText(error)}`,
      'Check that the token URL is reachable from our environment and retry; if it persists, contact our on-call engineer.',
    );
  }
}

function apiNotEnabledFix(api: string, clientId: string): string {
  return `Enable ${api} for client id ${clientId}, and give the Epic user mapped to the client the security to use it.`;
}

interface SearchOutcome {
  check: PreflightCheck;
  provider?: ResolvedProvider;
}

async function practitionerSearchCheck(
  tenant: TenantConfig,
  deps: PreflightDependencies,
  fhir: FhirClient,
  probeName: string,
): Promise<SearchOutcome> {
  const name = PREFLIGHT_CHECK.practitionerSearch;
  const parsed = parseProviderName(probeName) ?? { family: FALLBACK_PROBE_NAME };
  try {
    const res = await fhir.request({
      tenant: tenant.id,
      api: PRACTITIONER_SEARCH_API,
      method: 'GET',
      url: nameSearchUrl(tenant, parsed),
      expect: ['Bundle'],
    });
    const rawEntries = (res.resource as { entry?: unknown } | undefined)?.entry;
    const entries = Array.isArray(rawEntries) ? (rawEntries as Array<{ resource?: unknown }>) : [];
    const found = entries
      .map((e) => toResolvedProvider(e.resource))
      .filter((p): p is ResolvedProvider => p !== undefined);
    const provider = found.find((p) => nameMatches(p, probeName)) ?? found[0];
    return {
      check: pass(name, `Practitioner search is allowed (${found.length} match(es) for "${probeName}").`),
      ...(provider ? { provider } : {}),
    };
  } catch (error) {
    if (error instanceof AppError && error.code === 'epic_api_not_enabled') {
      return {
        check: check(
          name,
          'fail',
          `Epic refused Practitioner search (HTTP 403): the API is not enabled on our client.`,
          apiNotEnabledFix('Practitioner.Search (Organizational Directory) (R4)', deps.reader.clientId),
        ),
      };
    }
    return {
      check: check(
        name,
        'fail',
        `Practitioner search failed: ${errorText(error)}`,
        'Check the R4 FHIR base URL of this tenant and retry.',
      ),
    };
  }
}

function findRequest(
  tenant: TenantConfig,
  serviceType: { code: string; display?: string },
  startMs: number,
  endMs: number,
): FindSlotsRequest {
  return {
    tenant,
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
    startMs,
    endMs,
    serviceType: {
      system: tenant.scheduling.serviceTypeSystem,
      code: serviceType.code,
      ...(serviceType.display ? { display: serviceType.display } : {}),
    },
    limit: 1,
  };
}

function epicCodes(resource: FhirResource): {
  codes: Set<string>;
  appointments: ReturnType<typeof readFindBundle>['appointments'];
} {
  const bundle = readFindBundle(resource);
  return { codes: new Set(bundle.issues.flatMap((i) => i.epicCodes)), appointments: bundle.appointments };
}

interface FindOutcome {
  check: PreflightCheck;
  practitionerNames: string[];
}

async function findCheck(
  tenant: TenantConfig,
  serviceType: { code: string; display?: string },
  window: { startMs: number; endMs: number; days: number },
  deps: PreflightDependencies,
  fhir: FhirClient,
): Promise<FindOutcome> {
  const name = PREFLIGHT_CHECK.find(serviceType.code);
  const label = `service type ${serviceType.code}${serviceType.display ? ` "${serviceType.display}"` : ''}`;
  const system = tenant.scheduling.serviceTypeSystem;
  try {
    const resource = await findAppointments(
      findRequest(tenant, serviceType, window.startMs, window.endMs),
      undefined,
      fhir,
    );
    const { codes, appointments } = epicCodes(resource);
    const practitionerNames = appointments
      .flatMap((a) => a.practitioners.map((p) => p.display))
      .filter((d): d is string => !!d);
    if (appointments.length > 0) {
      return {
        check: pass(
          name,
          `$find found ${appointments.length} open slot(s) for ${label} in the next ${window.days} days.`,
        ),
        practitionerNames,
      };
    }
    if (codes.has('59200')) {
      return {
        check: check(
          name,
          'fail',
          `$find: the decision tree could not determine a visit type for ${label} (Epic code 59200).`,
          `Map code ${serviceType.code} of ${system} to a bookable visit type in the scheduling decision tree, or send us the code the tree expects.`,
        ),
        practitionerNames,
      };
    }
    if (codes.has('59134')) {
      return {
        check: check(
          name,
          'fail',
          `$find: provider template problem for ${label} (Epic code 59134), e.g. not enough providers with templates.`,
          `Build provider templates for the visit type behind ${serviceType.code} and attach those providers to it in the decision tree.`,
        ),
        practitionerNames,
      };
    }
    if (codes.has('4101')) {
      return {
        check: check(
          name,
          'warn',
          `$find works for ${label} but found no open slots on the schedules in the next ${window.days} days (Epic code 4101).`,
          `Release open slots for the visit type behind ${serviceType.code} on the providers' schedules (templates) in the next ${window.days} days.`,
        ),
        practitionerNames,
      };
    }
    const seen = [...codes].join(', ');
    return {
      check: check(
        name,
        'fail',
        `$find returned no slots for ${label}${seen ? ` (Epic codes ${seen})` : ' and no explanation'}.`,
        "Review the scheduling decision support build for this visit type; Epic's code tells which part.",
      ),
      practitionerNames,
    };
  } catch (error) {
    if (error instanceof AppError && error.code === 'epic_api_not_enabled') {
      return {
        check: check(
          name,
          'fail',
          'Epic refused Appointment.$find (HTTP 403): the API is not enabled on our client.',
          apiNotEnabledFix('Appointment.$find (STU3)', deps.reader.clientId),
        ),
        practitionerNames: [],
      };
    }
    return {
      check: check(
        name,
        'fail',
        `$find failed for ${label}: ${errorText(error)}`,
        'Check the STU3 FHIR base URL of this tenant and retry.',
      ),
      practitionerNames: [],
    };
  }
}

async function practitionerHintCheck(
  tenant: TenantConfig,
  serviceType: { code: string; display?: string },
  provider: ResolvedProvider,
  window: { startMs: number; endMs: number },
  fhir: FhirClient,
): Promise<PreflightCheck> {
  const name = PREFLIGHT_CHECK.practitionerHint;
  const configured = tenant.scheduling.providerBasedScheduling;
  // Probe with the hint even when the config says provider-based scheduling is off: the point is
  // to learn what the organization actually built.
  const probeTenant: TenantConfig = {
    ...tenant,
    scheduling: { ...tenant.scheduling, providerBasedScheduling: true },
  };
  try {
    const resource = await findAppointments(
      findRequest(probeTenant, serviceType, window.startMs, window.endMs),
      provider,
      fhir,
    );
    const { codes } = epicCodes(resource);
    if (codes.has('59109')) {
      return check(
        name,
        'warn',
        `Epic ignored the practitioner hint for ${provider.name} (Epic code 59109): provider-based scheduling is not configured; results are filtered on our side.` +
          (configured ? ' The tenant config says it is configured.' : ''),
        'Configure provider-based scheduling so a $find naming a practitioner searches that provider (setup step 2).' +
          (configured ? ' Until then set "providerBasedScheduling": false in this tenant\'s config.' : ''),
      );
    }
    if (!configured) {
      return check(
        name,
        'warn',
        `Epic accepted the practitioner hint for ${provider.name}, but the tenant config says provider-based scheduling is off, so we do not send it.`,
        'Our side: set "providerBasedScheduling": true in this tenant\'s config once the Epic team confirms the build.',
      );
    }
    return pass(
      name,
      `Epic accepted the practitioner hint for ${provider.name}: provider-based scheduling is configured.`,
    );
  } catch (error) {
    return check(
      name,
      'fail',
      `$find with a practitioner hint failed: ${errorText(error)}`,
      'Review the provider-based scheduling build.',
    );
  }
}

const skip = (name: string, why: string): PreflightCheck => ({
  name,
  status: 'skip',
  message: why,
  fix: null,
});

/**
 * Runs every check for one tenant. Throws UnknownTenantError (404) for an unknown tenant; every
 * other problem is a check result.
 */
export async function runPreflight(
  tenantId: string,
  deps: PreflightDependencies,
  options: PreflightOptions = {},
): Promise<PreflightReport> {
  const tenant = deps.reader.tenants.get(tenantId);
  const fhir = deps.fhir ?? new FhirClient(deps.reader);
  const days = options.windowDays ?? 14;
  const startMs = deps.reader.clock.now();
  const window = { startMs, endMs: startMs + days * DAY_MS, days };
  const checks: PreflightCheck[] = [tenantConfigCheck(tenant)];

  const tokenUrl = await tokenUrlCheck(tenant, deps);
  checks.push(tokenUrl, await jwksCheck(deps));

  const findNames = tenant.scheduling.serviceTypes.map((t) => PREFLIGHT_CHECK.find(t.code));
  const after = [PREFLIGHT_CHECK.practitionerSearch, ...findNames, PREFLIGHT_CHECK.practitionerHint];
  if (tokenUrl.status === 'fail') {
    checks.push(
      skip(PREFLIGHT_CHECK.token, 'Skipped: no token URL.'),
      ...after.map((n) => skip(n, 'Skipped: no token URL.')),
    );
    return finish(tenant.id, checks, deps);
  }
  const token = await tokenCheck(tenant, deps);
  if (token.status === 'fail') {
    checks.push(token, ...after.map((n) => skip(n, 'Skipped: no access token.')));
    return finish(tenant.id, checks, deps);
  }

  // $find first (its proposals name a real provider for the search and hint probes), reported after.
  const finds: FindOutcome[] = [];
  for (const serviceType of tenant.scheduling.serviceTypes) {
    finds.push(await findCheck(tenant, serviceType, window, deps, fhir));
  }
  const probeName =
    options.practitionerName ?? finds.flatMap((f) => f.practitionerNames)[0] ?? FALLBACK_PROBE_NAME;
  const search = await practitionerSearchCheck(tenant, deps, fhir, probeName);
  checks.push(token, search.check, ...finds.map((f) => f.check));

  const withSlots = tenant.scheduling.serviceTypes.find((_, i) => finds[i]?.check.status === 'pass');
  if (!search.provider) {
    checks.push(
      skip(PREFLIGHT_CHECK.practitionerHint, 'Skipped: no practitioner was found to send as a hint.'),
    );
  } else if (!withSlots) {
    checks.push(
      skip(PREFLIGHT_CHECK.practitionerHint, 'Skipped: no service type has open slots to probe with.'),
    );
  } else {
    checks.push(await practitionerHintCheck(tenant, withSlots, search.provider, window, fhir));
  }
  return finish(tenant.id, checks, deps);
}

function finish(tenant: string, checks: PreflightCheck[], deps: PreflightDependencies): PreflightReport {
  const ok = checks.every((c) => c.status !== 'fail');
  deps.reader.logger.info('PREFLIGHT_COMPLETED', {
    tenant,
    ok,
    checks: checks.map((c) => `${c.name}:${c.status}`),
  });
  return { tenant, ok, checks };
}
