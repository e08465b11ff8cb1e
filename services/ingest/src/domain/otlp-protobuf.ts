// Decodes OTLP/HTTP protobuf requests (ExportTraceServiceRequest, ExportLogsServiceRequest) into the
// OTLP/JSON shape (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding), so one
// converter serves both encodings. Only the fields ingest reads are kept; unknown fields are skipped
// by wire type, as protobuf requires. @opentelemetry/otlp-transformer 0.223 ships encoders and a
// response decoder, not a request decoder, hence this small reader.

/** The input is not a valid protobuf message of the expected type. */
export class ProtobufError extends Error {
  override readonly name = 'ProtobufError';
  readonly code = 'PROTOBUF_INVALID' as const;
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new ProtobufError('truncated varint');
      const byte = this.buf[this.pos++]!;
      if (shift < 49) result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  tag(): { field: number; wire: number } {
    const value = this.varint();
    return { field: Math.floor(value / 8), wire: value & 7 };
  }

  bytes(): Uint8Array {
    const length = this.varint();
    if (this.pos + length > this.buf.length) throw new ProtobufError('length-delimited field runs past the end');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  fixed64(): string {
    if (this.pos + 8 > this.buf.length) throw new ProtobufError('truncated fixed64');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getBigUint64(0, true).toString();
  }

  double(): number {
    if (this.pos + 8 > this.buf.length) throw new ProtobufError('truncated double');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getFloat64(0, true);
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.bytes();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new ProtobufError(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.buf.length) throw new ProtobufError('truncated field');
  }
}

type Json = Record<string, unknown>;

/** Reads every field of one message; `on` returns false for fields it does not handle. */
function message(buf: Uint8Array, on: (field: number, wire: number, r: Reader) => boolean): void {
  const r = new Reader(buf);
  let depthGuard = 0;
  while (!r.done) {
    if (++depthGuard > 1_000_000) throw new ProtobufError('too many fields');
    const { field, wire } = r.tag();
    if (!on(field, wire, r)) r.skip(wire);
  }
}

function expect(wire: number, wanted: number, what: string): void {
  if (wire !== wanted) throw new ProtobufError(`${what} has wire type ${wire}, expected ${wanted}`);
}

function anyValue(buf: Uint8Array, depth: number): Json {
  if (depth > 16) throw new ProtobufError('AnyValue nested too deeply');
  let value: Json = {};
  message(buf, (field, wire, r) => {
    switch (field) {
      case 1:
        expect(wire, 2, 'string_value');
        value = { stringValue: r.string() };
        return true;
      case 2:
        expect(wire, 0, 'bool_value');
        value = { boolValue: r.varint() !== 0 };
        return true;
      case 3:
        expect(wire, 0, 'int_value');
        value = { intValue: String(r.varint()) };
        return true;
      case 4:
        expect(wire, 1, 'double_value');
        value = { doubleValue: r.double() };
        return true;
      case 5: {
        expect(wire, 2, 'array_value');
        const values: Json[] = [];
        message(r.bytes(), (f, w, rr) => (f === 1 && w === 2 ? (values.push(anyValue(rr.bytes(), depth + 1)), true) : false));
        value = { arrayValue: { values } };
        return true;
      }
      case 6:
        expect(wire, 2, 'kvlist_value');
        value = { kvlistValue: { values: keyValues(r.bytes(), depth + 1) } };
        return true;
      default:
        return false;
    }
  });
  return value;
}

function keyValue(buf: Uint8Array, depth: number): Json {
  const kv: Json = { key: '' };
  message(buf, (field, wire, r) => {
    if (field === 1 && wire === 2) kv['key'] = r.string();
    else if (field === 2 && wire === 2) kv['value'] = anyValue(r.bytes(), depth);
    else return false;
    return true;
  });
  return kv;
}

function keyValues(buf: Uint8Array, depth: number): Json[] {
  const list: Json[] = [];
  message(buf, (field, wire, r) => (field === 1 && wire === 2 ? (list.push(keyValue(r.bytes(), depth)), true) : false));
  return list;
}

function resource(buf: Uint8Array): Json {
  const attributes: Json[] = [];
  message(buf, (field, wire, r) => (field === 1 && wire === 2 ? (attributes.push(keyValue(r.bytes(), 0)), true) : false));
  return { attributes };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function spanEvent(buf: Uint8Array): Json {
  const event: Json = { attributes: [] };
  message(buf, (field, wire, r) => {
    if (field === 1 && wire === 1) event['timeUnixNano'] = r.fixed64();
    else if (field === 2 && wire === 2) event['name'] = r.string();
    else if (field === 3 && wire === 2) (event['attributes'] as Json[]).push(keyValue(r.bytes(), 0));
    else return false;
    return true;
  });
  return event;
}

function span(buf: Uint8Array): Json {
  const s: Json = { attributes: [], events: [] };
  message(buf, (field, wire, r) => {
    if (field === 1 && wire === 2) s['traceId'] = hex(r.bytes());
    else if (field === 2 && wire === 2) s['spanId'] = hex(r.bytes());
    else if (field === 4 && wire === 2) s['parentSpanId'] = hex(r.bytes());
    else if (field === 5 && wire === 2) s['name'] = r.string();
    else if (field === 6 && wire === 0) s['kind'] = r.varint();
    else if (field === 7 && wire === 1) s['startTimeUnixNano'] = r.fixed64();
    else if (field === 8 && wire === 1) s['endTimeUnixNano'] = r.fixed64();
    else if (field === 9 && wire === 2) (s['attributes'] as Json[]).push(keyValue(r.bytes(), 0));
    else if (field === 11 && wire === 2) (s['events'] as Json[]).push(spanEvent(r.bytes()));
    else if (field === 15 && wire === 2) {
      const status: Json = {};
      message(r.bytes(), (f, w, rr) => {
        if (f === 2 && w === 2) status['message'] = rr.string();
        else if (f === 3 && w === 0) status['code'] = rr.varint();
        else return false;
        return true;
      });
      s['status'] = status;
    } else return false;
    return true;
  });
  return s;
}

function logRecord(buf: Uint8Array): Json {
  const record: Json = { attributes: [] };
  message(buf, (field, wire, r) => {
    if (field === 1 && wire === 1) record['timeUnixNano'] = r.fixed64();
    else if (field === 2 && wire === 0) record['severityNumber'] = r.varint();
    else if (field === 3 && wire === 2) record['severityText'] = r.string();
    else if (field === 5 && wire === 2) record['body'] = anyValue(r.bytes(), 0);
    else if (field === 6 && wire === 2) (record['attributes'] as Json[]).push(keyValue(r.bytes(), 0));
    else if (field === 9 && wire === 2) record['traceId'] = hex(r.bytes());
    else if (field === 10 && wire === 2) record['spanId'] = hex(r.bytes());
    else if (field === 11 && wire === 1) record['observedTimeUnixNano'] = r.fixed64();
    else return false;
    return true;
  });
  return record;
}

/** Decodes an ExportTraceServiceRequest into OTLP/JSON (`{resourceSpans: [...]}`). @throws ProtobufError */
export function decodeTraceRequest(buf: Uint8Array): Json {
  const resourceSpans: Json[] = [];
  message(buf, (field, wire, r) => {
    if (field !== 1 || wire !== 2) return false;
    const rs: Json = { scopeSpans: [] };
    message(r.bytes(), (f, w, rr) => {
      if (f === 1 && w === 2) rs['resource'] = resource(rr.bytes());
      else if (f === 2 && w === 2) {
        const spans: Json[] = [];
        message(rr.bytes(), (ff, ww, r3) => (ff === 2 && ww === 2 ? (spans.push(span(r3.bytes())), true) : false));
        (rs['scopeSpans'] as Json[]).push({ spans });
      } else return false;
      return true;
    });
    resourceSpans.push(rs);
    return true;
  });
  return { resourceSpans };
}

/** Decodes an ExportLogsServiceRequest into OTLP/JSON (`{resourceLogs: [...]}`). @throws ProtobufError */
export function decodeLogsRequest(buf: Uint8Array): Json {
  const resourceLogs: Json[] = [];
  message(buf, (field, wire, r) => {
    if (field !== 1 || wire !== 2) return false;
    const rl: Json = { scopeLogs: [] };
    message(r.bytes(), (f, w, rr) => {
      if (f === 1 && w === 2) rl['resource'] = resource(rr.bytes());
      else if (f === 2 && w === 2) {
        const logRecords: Json[] = [];
        message(rr.bytes(), (ff, ww, r3) => (ff === 2 && ww === 2 ? (logRecords.push(logRecord(r3.bytes())), true) : false));
        (rl['scopeLogs'] as Json[]).push({ logRecords });
      } else return false;
      return true;
    });
    resourceLogs.push(rl);
    return true;
  });
  return { resourceLogs };
}
