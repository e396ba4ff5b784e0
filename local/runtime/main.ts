import { resolve } from 'node:path';
import { ConfigError } from '../../functions/core/errors/app-error.js';
import { nextWeekMonday } from '../epic-simulator/scheduling/seed.js';
import { createLocalRuntime } from './app.js';
import { readLocalRuntimeSettings } from './settings.js';

/**
 * `npm start`: the local runtime on 127.0.0.1:$PORT with the settings of API.md ("Local runtime").
 * Prints its URLs and example calls; Ctrl-C stops it.
 */
async function main(): Promise<void> {
  const settings = readLocalRuntimeSettings(process.env);
  const runtime = await createLocalRuntime({
    ...settings,
    stateDir: settings.stateDir ?? resolve('.local'),
  });

  const tenant = runtime.tenants.ids()[0] ?? 'sandbox';
  const lines = [
    '',
    `Epic backend integration (local runtime) listening on ${runtime.url}`,
    runtime.simulator
      ? `Embedded Epic sandbox simulator on ${runtime.simulator.url} (tenants: ${runtime.tenants.ids().join(', ')})`
      : `Tenants from ${settings.tenantsFile}: ${runtime.tenants.ids().join(', ')}`,
    '',
    'Routes:',
    ...runtime.routes.map((r) => `  ${r.method.padEnd(4)} ${runtime.url}${r.path}`),
    '',
    'Try:',
    `  curl -s ${runtime.jwksUrl}`,
    `  curl -s -X POST ${runtime.refreshUrl} -H 'Content-Type: application/json' -d '{"tenant":"${tenant}"}'`,
    ...(runtime.simulator ? findSlotsExample(runtime.url) : []),
    `  open ${runtime.url}/epic   (the integration page for Epic analysts)`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const stop = async () => {
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`Local runtime failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

/** A find-slots call that returns Dr. Jane Smith's open slots in the seeded clinic next week. */
function findSlotsExample(url: string): string[] {
  const monday = nextWeekMonday(Date.now());
  const day = (offset: number) => new Date(monday + offset * 86_400_000).toISOString().replace('.000Z', 'Z');
  const body = JSON.stringify({
    tenant: 'sandbox',
    start: day(0),
    end: day(5),
    provider: { name: 'Jane Smith' },
    serviceType: { code: '95014' },
    limit: 5,
  });
  return [`  curl -s -X POST ${url}/epic/find-slots -H 'Content-Type: application/json' -d '${body}'`];
}
