import type { Clock } from '../../functions/core/clock.js';
import type { TenantConfig } from '../../functions/core/config/tenants.js';
import { createEpicSimulator, type EpicSimulator } from '../epic-simulator/index.js';
import { createSchedulingBackend } from '../epic-simulator/scheduling/engine.js';
import {
  defaultSchedulingData,
  SEED_SERVICE_TYPE_SYSTEM,
  SEED_SERVICE_TYPES,
} from '../epic-simulator/scheduling/seed.js';

/**
 * The built-in tenants `npm start` uses when TENANTS_FILE is unset: two simulated organizations on
 * the embedded Epic sandbox simulator. `sandbox` behaves like Epic's public sandbox (no
 * provider-based scheduling: a practitioner hint is ignored with 59109); `sandbox-pbs` has
 * provider-based scheduling built. Both hold the same seeded clinic (Dr. Jane Smith and colleagues,
 * open slots next week).
 */
export const BUILT_IN_ORGANIZATIONS = [
  { id: 'sandbox', name: 'Epic sandbox (simulated)', providerBasedScheduling: false },
  {
    id: 'sandbox-pbs',
    name: 'Epic sandbox with provider-based scheduling (simulated)',
    providerBasedScheduling: true,
  },
] as const;

export async function startEmbeddedSimulator(options: {
  clientId: string;
  jwksUrl: string;
  clock: Clock;
  fetch: typeof fetch;
  port?: number;
  tokenLifetimeSeconds?: number;
}): Promise<EpicSimulator> {
  const now = options.clock.now();
  return createEpicSimulator({
    ...(options.port !== undefined ? { port: options.port } : {}),
    clock: options.clock,
    fetch: options.fetch,
    organizations: BUILT_IN_ORGANIZATIONS.map((org) => ({
      id: org.id,
      clients: [{ clientId: options.clientId, jwksUrl: options.jwksUrl }],
      ...(options.tokenLifetimeSeconds !== undefined
        ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds }
        : {}),
      fhir: createSchedulingBackend(
        defaultSchedulingData({ now, providerBasedScheduling: org.providerBasedScheduling }),
      ),
    })),
  });
}

/** Tenants pointing at the running simulator. The `sandbox` tenant discovers its token URL. */
export function builtInSandboxTenants(simulator: EpicSimulator): TenantConfig[] {
  return BUILT_IN_ORGANIZATIONS.map((org) => {
    const endpoints = simulator.endpoints(org.id);
    return {
      id: org.id,
      name: org.name,
      fhirBaseUrl: endpoints.r4Base,
      stu3BaseUrl: endpoints.stu3Base,
      // `sandbox` exercises discovery through .well-known/smart-configuration.
      ...(org.id === 'sandbox' ? {} : { tokenUrl: endpoints.tokenUrl }),
      scheduling: {
        serviceTypeSystem: SEED_SERVICE_TYPE_SYSTEM,
        serviceTypes: [
          { code: SEED_SERVICE_TYPES.officeVisit, display: 'Office Visit' },
          { code: SEED_SERVICE_TYPES.newPatientVisit, display: 'New Patient Visit' },
          { code: SEED_SERVICE_TYPES.telehealthFollowUp, display: 'Telehealth Follow-up' },
        ],
        providerBasedScheduling: org.providerBasedScheduling,
      },
    };
  });
}
