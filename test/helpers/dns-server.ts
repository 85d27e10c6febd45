import { createServer, Packet, type Resource, type Writer } from 'dns2';

export interface AddressRecord { address: string; ttl: number }
export interface SrvRecord { priority: number; weight: number; port: number; target: string; ttl: number }

export interface Zone {
  A?: AddressRecord[];
  AAAA?: AddressRecord[];
  SRV?: SrvRecord[];
  /** Answer every query for the name with this rcode instead (e.g. 'SERVFAIL', 'NXDOMAIN'). */
  rcode?: 'SERVFAIL' | 'NXDOMAIN' | 'REFUSED';
}

export interface QueryLog { name: string; type: string; at: number }

export interface TestDnsServer {
  /** `127.0.0.1:port`, as `discovery.dns[].resolver` takes it. */
  readonly resolver: string;
  readonly port: number;
  /** Every query received, in order. */
  readonly queries: QueryLog[];
  /** Replaces the answers for `name` (takes effect on the next query). A name never set answers NXDOMAIN. */
  set(name: string, zone: Zone): void;
  /** Resolves with the next query for `name` (and `type`, when given) received from now on. */
  nextQuery(name: string, type?: string): Promise<QueryLog>;
  /** Stops answering (queries then meet a closed port). Idempotent. */
  close(): Promise<void>;
}

/**
 * A real authoritative DNS server (dns2) on a free UDP port of 127.0.0.1, whose answers tests change at run time.
 * Names without a zone answer NXDOMAIN; a name with a zone but no records of the asked type answers NODATA.
 */
export async function startDnsServer(): Promise<TestDnsServer> {
  const zones = new Map<string, Zone>();
  const queries: QueryLog[] = [];
  const waiters = new Set<{ name: string; type: string | undefined; resolve: (q: QueryLog) => void }>();
  const server = createServer({
    udp: true,
    handle: (request, send) => {
      const question = request.questions[0];
      if (question === undefined) return;
      const name = question.name.toLowerCase();
      const type = Packet.typeName(question.type);
      const log = { name, type, at: performance.now() };
      queries.push(log);
      for (const w of waiters) {
        if (w.name === name && (w.type === undefined || w.type === type)) {
          waiters.delete(w);
          w.resolve(log);
        }
      }
      const response = Packet.createResponseFromRequest(request);
      response.header.aa = 1;
      const zone = zones.get(name);
      if (zone === undefined) response.header.rcode = Packet.RCODE.NXDOMAIN;
      else if (zone.rcode !== undefined) response.header.rcode = Packet.RCODE[zone.rcode];
      else if (type === 'A' || type === 'AAAA' || type === 'SRV') {
        for (const r of zone[type] ?? []) {
          response.answers.push({ name: question.name, type: question.type, class: Packet.CLASS.IN, ...r } as Resource);
        }
      }
      void send(encodeUncompressed(response)).catch(() => {});
    },
  });
  server.on('requestError', () => {});
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const port = addresses.udp!.port;
  let closed: Promise<void> | undefined;
  return {
    resolver: `127.0.0.1:${port}`,
    port,
    queries,
    set: (name, zone) => void zones.set(name.toLowerCase(), zone),
    nextQuery: (name, type) => new Promise((resolve) => waiters.add({ name: name.toLowerCase(), type, resolve })),
    close: () => (closed ??= server.close()),
  };
}

/**
 * dns2 compresses every name it writes, SRV targets included; RFC 2782 forbids that and c-ares answers such a
 * reply with EBADRESP. dns2 compresses only when its writer's name table is a Map, so a writer given any other
 * table writes names in full.
 */
function encodeUncompressed(packet: Packet): Buffer {
  const writer = Object.assign(new Packet.Writer(), { names: {} });
  // Packet's typings omit the writer parameter its implementation takes.
  return (packet.toBuffer as (this: Packet, w: Writer) => Buffer).call(packet, writer);
}
