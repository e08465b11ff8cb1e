import type { PathPolicy } from './policy';
import type { Budgets } from './llm';

/** What diagnosis and patching need to know about a service under care. */
export interface ServiceFacts {
  readonly name: string;
  readonly repository: { readonly url: string; readonly defaultBranch: string };
  readonly policy: PathPolicy & { readonly budgets: Budgets };
  readonly deregistered: boolean;
}

/** Folds a `service-<name>` stream (ServiceRegistered, ServicePolicyChanged, ServiceDeregistered); undefined when never registered. */
export function foldService(events: readonly { type: string; data: unknown }[]): ServiceFacts | undefined {
  let facts: ServiceFacts | undefined;
  for (const e of events) {
    const d = e.data as Record<string, unknown>;
    if (e.type === 'ServiceRegistered') {
      facts = { name: String(d['name']), repository: d['repository'] as ServiceFacts['repository'], policy: d['policy'] as ServiceFacts['policy'], deregistered: false };
    } else if (facts && e.type === 'ServicePolicyChanged') facts = { ...facts, policy: d['policy'] as ServiceFacts['policy'] };
    else if (facts && e.type === 'ServiceDeregistered') facts = { ...facts, deregistered: true };
  }
  return facts;
}
