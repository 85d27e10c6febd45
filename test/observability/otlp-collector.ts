import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A span as the collector received it, whatever the encoding. Ids are lower-case hex; kind is OTLP's number. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  /** 0 unset, 1 ok, 2 error. */
  status: number;
  /** The resource's service.name. */
  service: unknown;
}

export const KIND = { internal: 1, server: 2, client: 3 } as const;

export interface TestCollector {
  /** The OTLP/HTTP traces endpoint to configure. */
  endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Export requests received: their Content-Type and headers. */
  readonly requests: Array<{ contentType: string; headers: http.IncomingHttpHeaders }>;
  /** Waits until `check` holds for the spans received, polling until the deadline. */
  until(check: (spans: ReceivedSpan[]) => boolean, what: string, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

/**
 * A test OTLP collector: an HTTP server that takes `POST /v1/traces` in JSON (`application/json`) or protobuf
 * (`application/x-protobuf`, decoded here with a small wire-format reader) and keeps every span.
 */
export async function startCollector(): Promise<TestCollector> {
  const spans: ReceivedSpan[] = [];
  const requests: TestCollector['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const contentType = req.headers['content-type'] ?? '';
      requests.push({ contentType, headers: req.headers });
      try {
        spans.push(...(contentType.startsWith('application/x-protobuf') ? decodeProtobuf(body) : decodeJson(body)));
      } catch (err) {
        res.writeHead(400).end(String(err));
        return;
      }
      const answer = contentType.startsWith('application/x-protobuf') ? Buffer.alloc(0) : Buffer.from('{}');
      res.writeHead(200, { 'content-type': contentType, 'content-length': answer.length });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    requests,
    async until(check, what, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(spans)) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; received:\n${JSON.stringify(spans, null, 1)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return spans;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

// ---- OTLP JSON: ids in hex, attribute values as { stringValue | intValue | boolValue | doubleValue | arrayValue }

interface JsonValue { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number; arrayValue?: { values?: JsonValue[] } }
interface JsonKv { key: string; value: JsonValue }

function jsonValue(v: JsonValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(jsonValue);
  return undefined;
}

const jsonAttributes = (kvs: JsonKv[] | undefined) => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));

function decodeJson(body: Buffer): ReceivedSpan[] {
  const doc = JSON.parse(body.toString('utf8')) as {
    resourceSpans: Array<{ resource?: { attributes?: JsonKv[] }; scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>;
  };
  const out: ReceivedSpan[] = [];
  for (const rs of doc.resourceSpans) {
    const service = jsonAttributes(rs.resource?.attributes)['service.name'];
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        out.push({
          traceId: String(s.traceId), spanId: String(s.spanId), parentSpanId: String(s.parentSpanId ?? ''),
          name: String(s.name), kind: Number(s.kind), attributes: jsonAttributes(s.attributes as JsonKv[]),
          status: Number((s.status as { code?: number } | undefined)?.code ?? 0), service,
        });
      }
    }
  }
  return out;
}

// ---- OTLP protobuf (opentelemetry/proto/collector/trace/v1): just the fields the tests read.

type Field = { n: number; wire: number; int: bigint; bytes: Buffer };

function* fields(buf: Buffer): Generator<Field> {
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const n = key >>> 3;
    const wire = key & 7;
    if (wire === 0) yield { n, wire, int: varint(), bytes: Buffer.alloc(0) };
    else if (wire === 1) { yield { n, wire, int: buf.readBigUInt64LE(i), bytes: buf.subarray(i, i + 8) }; i += 8; }
    else if (wire === 5) { yield { n, wire, int: BigInt(buf.readUInt32LE(i)), bytes: buf.subarray(i, i + 4) }; i += 4; }
    else if (wire === 2) {
      const len = Number(varint());
      yield { n, wire, int: 0n, bytes: buf.subarray(i, i + len) };
      i += len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

function protoValue(buf: Buffer): unknown {
  for (const f of fields(buf)) {
    if (f.n === 1) return f.bytes.toString('utf8');
    if (f.n === 2) return f.int !== 0n;
    if (f.n === 3) return Number(BigInt.asIntN(64, f.int));
    if (f.n === 4) return f.bytes.readDoubleLE(0);
    if (f.n === 5) return [...fields(f.bytes)].filter((x) => x.n === 1).map((x) => protoValue(x.bytes));
  }
  return undefined;
}

function protoKv(buf: Buffer): [string, unknown] {
  let key = '';
  let value: unknown;
  for (const f of fields(buf)) {
    if (f.n === 1) key = f.bytes.toString('utf8');
    else if (f.n === 2) value = protoValue(f.bytes);
  }
  return [key, value];
}

function decodeProtobuf(body: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of fields(body)) {
    if (rs.n !== 1) continue;
    let service: unknown;
    const scopes: Buffer[] = [];
    for (const f of fields(rs.bytes)) {
      if (f.n === 1) for (const a of fields(f.bytes)) if (a.n === 1) { const [k, v] = protoKv(a.bytes); if (k === 'service.name') service = v; }
      if (f.n === 2) scopes.push(f.bytes);
    }
    for (const scope of scopes) {
      for (const sf of fields(scope)) {
        if (sf.n !== 2) continue;
        const span: ReceivedSpan = { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, attributes: {}, status: 0, service };
        for (const f of fields(sf.bytes)) {
          if (f.n === 1) span.traceId = f.bytes.toString('hex');
          else if (f.n === 2) span.spanId = f.bytes.toString('hex');
          else if (f.n === 4) span.parentSpanId = f.bytes.toString('hex');
          else if (f.n === 5) span.name = f.bytes.toString('utf8');
          else if (f.n === 6) span.kind = Number(f.int);
          else if (f.n === 9) { const [k, v] = protoKv(f.bytes); span.attributes[k] = v; }
          else if (f.n === 15) for (const s of fields(f.bytes)) if (s.n === 3) span.status = Number(s.int);
        }
        out.push(span);
      }
    }
  }
  return out;
}
