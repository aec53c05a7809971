/**
 * The data plane of netns.ts's emulated wide-area network, run as its own process so that the
 * test's event loop does not add to the delays. It holds one TUN device per node namespace
 * (and one for the root namespace), inherited as open file descriptors (TUN_FDS, in index
 * order: 0 the root namespace, i node i), and moves IPv4 packets between them: between two
 * nodes after that pair's one-way delay plus jitter, losing a share of them, and not at all
 * across a partition; to and from the root namespace at once and never lost, since that link
 * stands for the operator watching the network, not for a wide-area path.
 *
 * Control: one JSON object a line on stdin, `{"id":n,"partition":[[1,2],[3,4]]}` (or `null`
 * to heal) or `{"id":n,"stats":true}`; each is answered with `{"id":n,"stats":{...}}` on
 * stdout once in effect. The router ends when stdin closes, so it never outlives the test.
 */
import { read, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

interface RouterConfig {
  /** The first three octets of the /24 every address is in. */
  subnet: [number, number, number];
  /** Last octet of the root namespace's address; node i has last octet i. */
  hostOctet: number;
  /** One-way base delay in ms by [from][to] node index (1-based; row and column 0 unused). */
  delays: number[][];
  jitterMs: number;
  loss: number;
}

const cfg: RouterConfig = JSON.parse(process.argv[2] ?? '');
const fds = (process.env.TUN_FDS ?? '').split(',').map(Number);
if (fds.length !== cfg.delays.length || fds.some((fd) => !Number.isInteger(fd))) {
  throw new Error(`TUN_FDS ${process.env.TUN_FDS} does not match ${cfg.delays.length} links`);
}

/** Group of each node index while partitioned; null when every node reaches every other. */
let groups: number[] | null = null;
const stats = { forwarded: 0, lost: 0, partitioned: 0, toHost: 0, fromHost: 0 };

function send(to: number, packet: Buffer): void {
  try {
    writeSync(fds[to], packet);
  } catch {
    // The device went away (teardown): the packet is lost, like on a real link.
  }
}

// A FIFO per direction of each pair, so that jitter delays packets without reordering them:
// reordering would make TCP retransmit and look like far more loss than asked for.
interface Link {
  queue: Array<{ at: number; packet: Buffer }>;
  last: number;
  timer?: NodeJS.Timeout;
}
const links = new Map<number, Link>();

function drain(to: number, link: Link): void {
  link.timer = undefined;
  const now = performance.now();
  // Timers fire up to a millisecond early or late; a packet due within 1 ms goes now.
  while (link.queue.length > 0 && link.queue[0].at <= now + 1) {
    send(to, link.queue.shift()!.packet);
    stats.forwarded++;
  }
  if (link.queue.length > 0) {
    link.timer = setTimeout(() => drain(to, link), link.queue[0].at - now);
  }
}

function delayed(from: number, to: number, packet: Buffer): void {
  const key = from * 256 + to;
  let link = links.get(key);
  if (!link) {
    link = { queue: [], last: 0 };
    links.set(key, link);
  }
  const jitter = (Math.random() * 2 - 1) * cfg.jitterMs;
  const at = Math.max(performance.now() + cfg.delays[from][to] + jitter, link.last);
  link.last = at;
  link.queue.push({ at, packet });
  if (!link.timer) link.timer = setTimeout(() => drain(to, link), at - performance.now());
}

function route(from: number, packet: Buffer): void {
  // IPv4 only: the namespaces' own IPv6 chatter (router solicitations and the like) has
  // nowhere to go.
  if (packet.length < 20 || packet[0] >> 4 !== 4) return;
  const [a, b, c] = cfg.subnet;
  if (packet[16] !== a || packet[17] !== b || packet[18] !== c) return;
  const to = packet[19] === cfg.hostOctet ? 0 : packet[19];
  if (to >= fds.length || to === from) return;
  if (from === 0 || to === 0) {
    stats[from === 0 ? 'fromHost' : 'toHost']++;
    send(to, packet);
    return;
  }
  if (groups && groups[from] !== groups[to]) {
    stats.partitioned++;
    return;
  }
  if (Math.random() < cfg.loss) {
    stats.lost++;
    return;
  }
  delayed(from, to, packet);
}

// One read in flight per device: a TUN read returns exactly one packet. The reads block a
// thread of libuv's pool each (the parent sets UV_THREADPOOL_SIZE to leave room).
fds.forEach((fd, index) => {
  const buf = Buffer.allocUnsafe(65_536);
  const pump = (): void => {
    read(fd, buf, 0, buf.length, null, (err, n) => {
      if (err) {
        process.stderr.write(`router: read from link ${index}: ${err.message}\n`);
        return;
      }
      route(index, Buffer.from(buf.subarray(0, n)));
      pump();
    });
  };
  pump();
});

const control = createInterface({ input: process.stdin });
control.on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.partition !== undefined) {
    if (cmd.partition === null) groups = null;
    else {
      groups = [];
      cmd.partition.forEach((members: number[], g: number) => {
        for (const m of members) groups![m] = g;
      });
    }
  }
  process.stdout.write(`${JSON.stringify({ id: cmd.id, stats })}\n`);
});
// The pool threads stay blocked in read(2), and a normal exit waits for them: end at once.
control.on('close', () => process.kill(process.pid, 'SIGKILL'));
process.stdout.write('ready\n');
