import { createEpicSimulator } from '../local/epic-simulator/index.js';
import { createSchedulingBackend } from '../local/epic-simulator/scheduling/engine.js';
import { defaultSchedulingData } from '../local/epic-simulator/scheduling/seed.js';

/**
 * The Epic sandbox simulator in its own process, so "Epic's latency" in the bench does not share an
 * event loop with the code it is compared against. Organizations: `sandbox` (answers at once) and
 * `sandbox-latency` (every FHIR call answered after SIM_FHIR_DELAY_MS, like a real Epic's own
 * latency). Reads SIM_JWKS_URL and SIM_CLIENT_ID, prints one JSON line with its endpoints, and runs
 * until its parent closes stdin or ends it.
 */
export const LATENCY_ORG = 'sandbox-latency';

async function main(): Promise<void> {
  const jwksUrl = process.env.SIM_JWKS_URL ?? '';
  const clientId = process.env.SIM_CLIENT_ID ?? '';
  const delayMs = Number(process.env.SIM_FHIR_DELAY_MS ?? '100');
  const now = Date.now();
  const simulator = await createEpicSimulator({
    organizations: ['sandbox', LATENCY_ORG].map((id) => ({
      id,
      clients: [{ clientId, jwksUrl }],
      fhir: createSchedulingBackend(defaultSchedulingData({ now })),
    })),
  });
  simulator.setFault(LATENCY_ORG, 'fhir', { kind: 'slow', delayMs });
  process.stdout.write(
    `${JSON.stringify({
      sandbox: simulator.endpoints('sandbox'),
      [LATENCY_ORG]: simulator.endpoints(LATENCY_ORG),
    })}\n`,
  );
  const stop = () => {
    void simulator.close().then(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

if (process.env.SIM_JWKS_URL) {
  main().catch((error: unknown) => {
    process.stderr.write(`simulator failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
