import type { ConsumerOptions } from './types';

export interface ResolvedConsumerOptions {
  readonly durable: string;
  readonly handlerName: string;
  readonly types: ReadonlySet<string> | undefined;
  readonly typeList: readonly string[] | undefined;
  readonly from: 'start' | 'now';
  readonly maxDeliver: number;
  readonly backoffMs: readonly number[];
  readonly ackWaitMs: number;
  readonly concurrency: number;
}

/** Applies defaults and checks a consumer's options; throws a readable error naming the bad option. */
export function resolveConsumerOptions(options: ConsumerOptions): ResolvedConsumerOptions {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.durable)) {
    throw new TypeError(`consumer durable "${options.durable}" must be 1-64 letters, digits, "-" or "_"`);
  }
  const maxDeliver = options.maxDeliver ?? 5;
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) throw new TypeError(`maxDeliver must be an integer >= 1 (got ${maxDeliver})`);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be an integer >= 1 (got ${concurrency})`);
  return {
    durable: options.durable,
    handlerName: options.handlerName ?? options.durable,
    types: options.types && options.types.length > 0 ? new Set(options.types) : undefined,
    typeList: options.types && options.types.length > 0 ? options.types : undefined,
    from: options.from ?? 'start',
    maxDeliver,
    backoffMs: options.backoffMs && options.backoffMs.length > 0 ? options.backoffMs : [100, 500, 2000, 5000],
    ackWaitMs: options.ackWaitMs ?? 30_000,
    concurrency,
  };
}
