import type { Infrastructure } from './infrastructure';

export default async function globalTeardown(): Promise<void> {
  const infrastructure = (globalThis as { __antibodyInfrastructure?: Infrastructure }).__antibodyInfrastructure;
  await infrastructure?.stop();
}
