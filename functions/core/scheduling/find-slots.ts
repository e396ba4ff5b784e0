import type { ReaderDependencies } from '../dependencies.js';
import { DEFAULT_FHIR_CLIENT_POLICY, FhirClient, type FhirClientPolicy } from '../epic/fhir-client.js';
import {
  type Diagnostic,
  type DiagnosticContext,
  diagnosticsFromOutcome,
  emptyWithoutExplanation,
  locationNotInResults,
  malformedAppointments,
  practitionerNotSent,
  providerNotInResults,
  serviceTypeNotInResults,
} from './diagnostics.js';
import { findAppointments } from './find-appointments.js';
import { filterAppointments, readFindBundle, type Slot, toSlots } from './normalize.js';
import { type ProviderCache, type ResolvedProvider, resolveProvider } from './provider-resolution.js';
import type { FindSlotsRequest } from './validate-request.js';

/**
 * The find-slots use case: resolve the provider (R4), call `$find` (STU3), normalize, filter by
 * what was asked, and explain empty answers. Knows nothing of Lambda or HTTP servers.
 */

/** API.md's find-slots 200 body. */
export interface FindSlotsResult {
  tenant: string;
  window: { start: string; end: string };
  provider: { id: string; name: string } | null;
  slots: Slot[];
  diagnostics: Diagnostic[];
}

export interface FindSlotsOptions {
  /** Provider resolutions cached briefly per tenant (one per container). */
  providerCache?: ProviderCache;
  /** FHIR client timing; `totalBudgetMs` bounds the whole call. */
  fhirPolicy?: Partial<FhirClientPolicy>;
}

export const FIND_SLOTS_METRIC = {
  completed: 'FindSlotsCompleted',
  empty: 'FindSlotsEmpty',
} as const;

/**
 * Finds open slots for a validated request.
 *
 * @throws ProviderNotFoundError (404), AmbiguousProviderError (409), the FHIR client's Epic errors
 *   (502/504) and token errors (503).
 */
export async function findSlots(
  request: FindSlotsRequest,
  deps: ReaderDependencies,
  options: FindSlotsOptions = {},
): Promise<FindSlotsResult> {
  const fhir = new FhirClient(deps, options.fhirPolicy);
  const budgetMs = options.fhirPolicy?.totalBudgetMs ?? DEFAULT_FHIR_CLIENT_POLICY.totalBudgetMs;
  const deadline = deps.clock.now() + budgetMs;
  const { tenant } = request;

  let provider: ResolvedProvider | undefined;
  if (request.provider) {
    provider = await resolveProvider(request.provider, tenant, fhir, {
      deadline,
      ...(options.providerCache ? { cache: options.providerCache } : {}),
    });
  }

  const answer = await findAppointments(request, provider, fhir, deadline);
  const bundle = readFindBundle(answer);
  const filtered = filterAppointments(bundle.appointments, {
    ...(provider ? { provider } : {}),
    ...(request.locationId ? { locationId: request.locationId } : {}),
    ...(request.serviceType ? { serviceType: request.serviceType } : {}),
    window: { startMs: request.startMs, endMs: request.endMs },
  });
  const slots = toSlots(filtered.kept, {
    serviceTypeSystem: tenant.scheduling.serviceTypeSystem,
    limit: request.limit,
    ...(provider ? { provider } : {}),
  });

  const ctx: DiagnosticContext = {
    tenant: tenant.id,
    window: { start: request.start, end: request.end },
    ...(request.serviceType ? { serviceType: request.serviceType } : {}),
    ...(provider ? { provider: { id: provider.id, name: provider.name } } : {}),
    ...(request.locationId ? { locationId: request.locationId } : {}),
    providerBasedScheduling: tenant.scheduling.providerBasedScheduling,
  };
  const diagnostics = diagnosticsFromOutcome(bundle.issues, ctx);
  if (provider && !tenant.scheduling.providerBasedScheduling) diagnostics.unshift(practitionerNotSent(ctx));
  if (bundle.malformed > 0) diagnostics.push(malformedAppointments(bundle.malformed));
  const returned = filtered.afterWindow;
  if (returned > 0 && filtered.kept.length === 0) {
    if (filtered.afterServiceType === 0) diagnostics.push(serviceTypeNotInResults(returned, ctx));
    else if (filtered.afterLocation === 0) diagnostics.push(locationNotInResults(returned, ctx));
    else if (provider) diagnostics.push(providerNotInResults(returned, ctx));
  }
  if (slots.length === 0 && !diagnostics.some((d) => d.severity !== 'information')) {
    diagnostics.push(emptyWithoutExplanation(ctx));
  }

  deps.logger.info('FIND_SLOTS_COMPLETED', {
    tenant: tenant.id,
    providerQuery: request.provider?.kind ?? 'none',
    proposed: bundle.appointments.length,
    slots: slots.length,
    diagnostics: diagnostics.map((d) => d.code),
  });
  deps.metrics.count(FIND_SLOTS_METRIC.completed, { tenant: tenant.id });
  if (slots.length === 0) {
    deps.metrics.count(FIND_SLOTS_METRIC.empty, {
      tenant: tenant.id,
      reason: diagnostics.find((d) => d.severity !== 'information')?.code ?? 'unknown',
    });
  }

  return {
    tenant: tenant.id,
    window: { start: request.start, end: request.end },
    provider: provider ? { id: provider.id, name: provider.name } : null,
    slots,
    diagnostics,
  };
}
