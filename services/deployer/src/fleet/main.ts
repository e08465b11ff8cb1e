// antibody-fleet-agent: `node services/deployer/dist/fleet/main.js <config.json>` runs one service's
// replicas behind the weighted proxy on this host. It prints one JSON line
// {"ready":true,"port":…,"controlPort":…} once serving, drains everything on SIGTERM/SIGINT, and
// exits 78 (EX_CONFIG) with one line on a bad configuration.
import { readFileSync } from 'node:fs';
import { FleetAgent, type FleetAgentConfig } from './agent';

function loadConfig(path: string | undefined): FleetAgentConfig {
  if (!path) throw new Error('usage: fleet-agent <config.json>');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<FleetAgentConfig>;
  if (typeof raw.service !== 'string' || !raw.stable || typeof raw.stable.entry !== 'string' || typeof raw.stable.release !== 'string') {
    throw new Error('config needs "service" and "stable": {"release", "entry"}');
  }
  const replicas = raw.replicas ?? 2;
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error('"replicas" must be an integer >= 1');
  return {
    service: raw.service,
    port: raw.port ?? 0,
    controlPort: raw.controlPort ?? 0,
    replicas,
    stable: raw.stable,
    keepCanaryMs: raw.keepCanaryMs ?? 60_000,
    slowFloorMs: raw.slowFloorMs ?? 50,
    supervisor: { memoryLimitMb: 256, backoffMinMs: 100, backoffMaxMs: 10_000, backoffResetMs: 30_000, killAfterMs: 10_000, readyTimeoutMs: 15_000, ...raw.supervisor },
  };
}

async function main(): Promise<void> {
  let config: FleetAgentConfig;
  try {
    config = loadConfig(process.argv[2]);
  } catch (error) {
    process.stderr.write(`antibody-fleet-agent: ${(error as Error).message}\n`);
    process.exit(78);
  }
  const agent = new FleetAgent(config);
  const ports = await agent.start();
  process.stdout.write(`${JSON.stringify({ ready: true, ...ports })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    agent.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main().catch((error: Error) => {
  process.stderr.write(`antibody-fleet-agent: ${error.message}\n`);
  process.exit(1);
});
