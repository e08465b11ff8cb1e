import { SetMetadata } from '@nestjs/common';
import type { EventType, RecordedEvent } from '@antibody/contracts';
import type { ConsumerOptions, HandlerContext } from '../types';

/** @internal Metadata key under which {@link OnEvent} stores its {@link OnEventMetadata}. */
export const ON_EVENT_METADATA = 'antibody.bus.on-event';

/**
 * Per-handler settings of {@link OnEvent}: every {@link ConsumerOptions} field but `durable`,
 * `types` and `handlerName`, which the module derives, plus `name`.
 */
export interface OnEventOptions extends Omit<ConsumerOptions, 'durable' | 'types' | 'handlerName'> {
  /**
   * The handler's stable identity, 1-64 letters, digits, `-` or `_` once prefixed with the service
   * name. Default `<Class>-<method>`. It names the durable consumer (`<service>-<name>`) and the
   * ids of emitted events, so set it explicitly before renaming a decorated class or method:
   * a new name is a new consumer, which starts from `from` (position 0 by default).
   */
  readonly name?: string;
}

/** @internal What {@link OnEvent} records on a method. */
export interface OnEventMetadata {
  readonly types: readonly EventType[];
  readonly options: OnEventOptions;
}

/**
 * The signature a method decorated with `@OnEvent(types)` must have: it receives the event typed by
 * the contract of its type (a union when it handles several), so `event.data` needs no cast.
 */
export type OnEventMethod<T extends EventType = EventType> = (event: RecordedEvent<T>, context: HandlerContext) => Promise<void>;

/**
 * Marks a provider method as the handler of one or more event types. `EventBusModule` finds it at
 * application bootstrap and runs it under a durable consumer of its own, shared by every instance
 * of the service, from position 0 unless told otherwise.
 *
 * The method gets each event typed by its contract (`RecordedEvent<T>`: the data was validated
 * against the catalog and upcast to its current schema version before the call) and a
 * `HandlerContext` whose `emit` derives event ids from this handler's name, so a redelivery
 * appends nothing new. Throwing means "try again later" (with backoff); after `maxDeliver`
 * attempts the event is dead-lettered and the consumer moves on.
 *
 * @param types the event type(s) to handle; at least one.
 * @param options consumer settings for this handler (see {@link OnEventOptions}).
 * @throws TypeError at class definition when `types` is empty.
 *
 * @example
 * ```ts
 * @Injectable()
 * class DiagnosisReactor {
 *   @OnEvent('DiagnosisFailed', { maxDeliver: 3 })
 *   async escalate(event: RecordedEvent<'DiagnosisFailed'>, ctx: HandlerContext): Promise<void> {
 *     await ctx.emit(event.streamId, [{ type: 'IncidentEscalated', data: { reason: event.data.reason, step: 'diagnosis' } }]);
 *   }
 * }
 * ```
 */
export function OnEvent<T extends EventType>(
  types: T | readonly T[],
  options: OnEventOptions = {},
): (target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<OnEventMethod<T>>) => void {
  const list: readonly EventType[] = typeof types === 'string' ? [types] : [...new Set(types)];
  if (list.length === 0) throw new TypeError('@OnEvent needs at least one event type');
  const metadata: OnEventMetadata = { types: list, options };
  return (target, key, descriptor) => {
    SetMetadata(ON_EVENT_METADATA, metadata)(target, key, descriptor);
  };
}
