import type { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { ConsumerOptions, EventHandler } from '../types';
import { EventBusModuleError } from './errors';
import { ON_EVENT_METADATA, type OnEventMetadata } from './on-event.decorator';

/** One decorated method, ready to be consumed. */
export interface DiscoveredHandler {
  readonly consumer: ConsumerOptions;
  readonly handler: EventHandler;
}

const DURABLE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Finds every `@OnEvent` method of the application's (singleton) providers and turns each into
 * the options of its own durable consumer: durable `<service>-<Class>-<method>`, handler name
 * `<service>.<Class>.<method>` (or `<service>-<name>` / `<service>.<name>` with an explicit name).
 */
export function discoverHandlers(
  service: string,
  from: ConsumerOptions['from'],
  discovery: DiscoveryService,
  scanner: MetadataScanner,
  reflector: Reflector,
): DiscoveredHandler[] {
  const found: DiscoveredHandler[] = [];
  const owners = new Map<string, string>();
  const seen = new Set<object>();
  for (const wrapper of discovery.getProviders()) {
    const instance: unknown = wrapper.instance;
    if (!instance || typeof instance !== 'object' || seen.has(instance) || !wrapper.isDependencyTreeStatic()) continue;
    seen.add(instance);
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown> | null;
    if (!prototype) continue;
    const className = instance.constructor.name;
    for (const methodName of scanner.getAllMethodNames(prototype)) {
      const method = prototype[methodName];
      if (typeof method !== 'function') continue;
      const metadata = reflector.get<OnEventMetadata | undefined>(ON_EVENT_METADATA, method as (...args: unknown[]) => unknown);
      if (!metadata) continue;
      const where = `${className}.${methodName}`;
      const { name, ...consumerSettings } = metadata.options;
      const parts = name !== undefined ? [name] : [className, methodName];
      const durable = [service, ...parts].join('-');
      if (!DURABLE.test(durable)) {
        throw new EventBusModuleError(
          'HANDLER_NAME_INVALID',
          `@OnEvent on ${where}: durable consumer name "${durable}" must be 1-64 letters, digits, "-" or "_"; ` +
            `give the handler a shorter or simpler name with @OnEvent(types, { name: '...' })`,
        );
      }
      const owner = owners.get(durable);
      if (owner !== undefined) {
        throw new EventBusModuleError(
          'HANDLER_NAME_TAKEN',
          `@OnEvent on ${where} and on ${owner} both make the durable consumer "${durable}"; ` +
            `give one of them a distinct name with @OnEvent(types, { name: '...' })`,
        );
      }
      owners.set(durable, where);
      found.push({
        consumer: { ...consumerSettings, from: consumerSettings.from ?? from, durable, handlerName: [service, ...parts].join('.'), types: metadata.types },
        handler: (event, context) => (method as EventHandler).call(instance, event, context),
      });
    }
  }
  return found;
}
