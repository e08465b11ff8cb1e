/**
 * @antibody/bus/nest — the event bus in a Nest service: `EventBusModule.forRoot(...)` provides the
 * store and the bus and runs every `@OnEvent` method as a durable consumer. A separate entry, so
 * that `@antibody/bus` itself does not load Nest.
 */
export { EventBusModule } from './event-bus.module';
export type { EventBusModuleOptions } from './event-bus.module';
export { OnEvent } from './on-event.decorator';
export type { OnEventMethod, OnEventOptions } from './on-event.decorator';
export { EVENT_BUS, EVENT_BUS_CONNECTION, EVENT_STORE } from './tokens';
export type { EventBusConnection } from './tokens';
export { EventBusModuleError } from './errors';
export type { EventBusModuleErrorCode } from './errors';
