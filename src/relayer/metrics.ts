/** Prometheus metrics of a relayer process (prom-client, one registry per relayer). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export class RelayerMetrics {
  readonly registry = new Registry();
  /** Packets received on their destination by this relayer's recvPacket. */
  readonly packetsRelayed = new Counter({
    name: 'archi_relayer_packets_relayed_total',
    help: 'packets this relayer delivered (recvPacket committed ok), by source and destination chain',
    labelNames: ['src', 'dst'],
    registers: [this.registry],
  });
  readonly acksRelayed = new Counter({
    name: 'archi_relayer_acks_relayed_total',
    help: 'acknowledgements this relayer brought back to the sender (acknowledgePacket committed ok)',
    labelNames: ['src', 'dst'],
    registers: [this.registry],
  });
  readonly timeoutsRelayed = new Counter({
    name: 'archi_relayer_timeouts_relayed_total',
    help: 'packets this relayer timed out on their sender (timeoutPacket committed ok)',
    labelNames: ['src', 'dst'],
    registers: [this.registry],
  });
  readonly clientUpdates = new Counter({
    name: 'archi_relayer_client_updates_total',
    help: 'updateClient txs committed ok, by the chain holding the client',
    labelNames: ['chain', 'client'],
    registers: [this.registry],
  });
  readonly races = new Counter({
    name: 'archi_relayer_races_total',
    help: 'txs refused because another relayer (or an earlier run) got there first, by code',
    labelNames: ['chain', 'code'],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'archi_relayer_errors_total',
    help: 'failed relayer steps (refused txs, bad node answers, unreachable chains), by chain and code',
    labelNames: ['chain', 'code'],
    registers: [this.registry],
  });
  readonly pending = new Gauge({
    name: 'archi_relayer_pending_packets',
    help: 'packets sent and not yet settled on their sender, as seen in the last round',
    labelNames: ['src', 'dst'],
    registers: [this.registry],
  });
  readonly rounds = new Counter({
    name: 'archi_relayer_rounds_total',
    help: 'relay rounds run, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly chainUp = new Gauge({
    name: 'archi_relayer_chain_reachable',
    help: '1 while some node of the chain answers, else 0',
    labelNames: ['chain'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Serve GET /metrics on host:port (port 0: a free one); resolves with the server and its URL. */
  async serve(port: number, host = '127.0.0.1'): Promise<{ server: http.Server; url: string }> {
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (e) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(e)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port: bound } = server.address() as AddressInfo;
    return { server, url: `http://${host}:${bound}/metrics` };
  }
}
