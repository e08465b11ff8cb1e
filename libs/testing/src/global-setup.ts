import { discoverInfrastructure } from './infrastructure';

/** Jest global setup: find real Postgres and NATS once; workers inherit the URLs through the environment. */
export default async function globalSetup(): Promise<void> {
  const infrastructure = await discoverInfrastructure((line) => process.stderr.write(`[antibody-test] ${line}\n`));
  process.env.DATABASE_URL = infrastructure.databaseUrl;
  if (infrastructure.natsUrl) process.env.NATS_URL = infrastructure.natsUrl;
  (globalThis as { __antibodyInfrastructure?: unknown }).__antibodyInfrastructure = infrastructure;
}
