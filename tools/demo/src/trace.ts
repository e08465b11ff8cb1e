/** The part of a stored event's metadata the trace helpers read. */
export interface TracedEvent {
  readonly type: string;
  readonly metadata: { readonly traceparent?: string | null; readonly producer: { readonly service: string } };
}

/** The W3C trace id of a traceparent (`00-<trace id>-<span id>-<flags>`), or undefined. */
export function traceIdOfParent(traceparent: string | null | undefined): string | undefined {
  const id = traceparent?.split('-')[1];
  return id && /^[0-9a-f]{32}$/.test(id) && !/^0+$/.test(id) ? id : undefined;
}

/** The trace id of an incident: the one its first traced event carries. */
export function traceIdOf(events: readonly TracedEvent[]): string | undefined {
  for (const e of events) {
    const id = traceIdOfParent(e.metadata.traceparent);
    if (id) return id;
  }
  return undefined;
}

/** Which producing services appended events under `traceId`. */
export function servicesInTrace(events: readonly TracedEvent[], traceId: string): Set<string> {
  return new Set(events.filter((e) => traceIdOfParent(e.metadata.traceparent) === traceId).map((e) => e.metadata.producer.service));
}
