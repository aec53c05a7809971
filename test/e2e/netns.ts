/**
 * An emulated wide-area network on one machine: one Linux network namespace per node, each
 * with its own address in a private /24, 40-80 ms one-way latency and 1% loss between every
 * two of them, and partitions that can be cut and healed. Needs root (CAP_NET_ADMIN), `ip`
 * (iproute2), perl and /dev/net/tun; netnsAvailable() says why not where they are missing.
 *
 * Why not veths on a bridge with `tc qdisc ... netem`: the kernels this runs on (the CI and
 * development VMs) are built without sch_netem (CONFIG_NET_SCH_NETEM unset, and no loadable
 * modules), and neither nft nor iptables is installed. So each namespace gets a TUN device
 * instead, and netns-router.ts, a user-space process holding the other end of every TUN,
 * forwards each IPv4 packet after its pair's delay, drops the lost ones and those crossing a
 * partition. Packets still go through each namespace's kernel TCP/IP stack, so TCP sees real
 * delay, loss, retransmission and (across a partition) silence, as over veths with netem.
 *
 * Opening a TUN device takes the TUNSETIFF ioctl, which Node cannot make: a few lines of perl
 * (perl-base is essential on Debian) open them, then exec the router with the descriptors.
 * The devices are not persistent, so they vanish with the router; the router ends when its
 * stdin closes, that is with the test process. Namespaces are named archi-<pid>-n<i>; those
 * of a test process that no longer runs are removed by the next Wan.create().
 *
 * The root namespace gets an address in the same /24 on a link without delay or loss, so the
 * test process and `archi` client commands reach every node's RPC directly.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ROUTER = fileURLToPath(new URL('./netns-router.ts', import.meta.url));
const HOST_OCTET = 254;

// Opens a TUN device (IFF_TUN | IFF_NO_PI) per name before `--`, then execs the rest with
// their descriptors in TUN_FDS. $^F raised first keeps them open across exec.
const TUN_SHIM = `
$^F = 10000;
my (@keep, @fds);
while (@ARGV && $ARGV[0] ne '--') {
  my $name = shift @ARGV;
  open(my $fh, '+<', '/dev/net/tun') or die "open /dev/net/tun: $!\\n";
  ioctl($fh, 0x400454ca, pack('Z16 s x22', $name, 0x1001)) or die "TUNSETIFF $name: $!\\n";
  push @keep, $fh;
  push @fds, fileno($fh);
}
shift @ARGV;
exit 0 unless @ARGV;
$ENV{TUN_FDS} = join(',', @fds);
exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\\n";
`;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function failure(e: unknown): string {
  const err = e as { stderr?: string | Buffer; message: string };
  return String(err.stderr ?? '').trim() || err.message;
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Whether this process can build a Wan here, and if not, why. */
export function netnsAvailable(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux')
    return { ok: false, reason: 'network namespaces are Linux only' };
  const uid = process.getuid?.();
  if (uid !== 0) return { ok: false, reason: `needs root for network namespaces (uid ${uid})` };
  if (!onPath('ip')) return { ok: false, reason: 'no `ip` command (iproute2)' };
  if (!onPath('perl')) return { ok: false, reason: 'no perl (it opens the TUN devices)' };
  if (!existsSync('/dev/net/tun')) return { ok: false, reason: 'no /dev/net/tun' };
  const probe = `archi-${process.pid}-probe`;
  try {
    ip('netns', 'add', probe);
  } catch (e) {
    return { ok: false, reason: `cannot create a network namespace: ${failure(e)}` };
  } finally {
    spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  }
  const tun = spawnSync('perl', ['-e', TUN_SHIM, `aw${process.pid}p`], { encoding: 'utf8' });
  if (tun.status !== 0) {
    return { ok: false, reason: `cannot open a TUN device: ${tun.stderr.trim() || tun.error}` };
  }
  return { ok: true };
}

function parseCidr(cidr: string): [number, number] {
  const [addr, len] = cidr === 'default' ? ['0.0.0.0', '0'] : cidr.split('/');
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return [n, len === undefined ? 32 : Number(len)];
}

/** A 10.a.b.0/24 that no route of the root namespace (default aside) overlaps. */
function freeSubnet(): [number, number, number] {
  const taken = (
    JSON.parse(ip('-j', '-4', 'route', 'show', 'table', 'all')) as Array<{
      dst: string;
    }>
  )
    .map((r) => parseCidr(r.dst))
    .filter(([, len]) => len > 0);
  const a = 100 + (process.pid % 100);
  for (let k = 0; k < 256; k++) {
    const b = (process.pid + k) % 256;
    const net = ((10 * 256 + a) * 256 + b) * 256;
    const overlaps = taken.some(([n, len]) => {
      const shared = Math.min(len, 24);
      const mask = shared === 0 ? 0 : 2 ** 32 - 2 ** (32 - shared);
      return (n & mask) >>> 0 === (net & mask) >>> 0;
    });
    if (!overlaps) return [10, a, b];
  }
  throw new Error(`no free 10.${a}.x.0/24 in the root namespace`);
}

/** Removes the namespaces of earlier runs whose test process is gone (killed before teardown). */
function sweepOrphans(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const m = line.match(/^(archi-(\d+)-n\d+)/);
    if (!m) continue;
    try {
      process.kill(Number(m[2]), 0);
    } catch {
      spawnSync('ip', ['netns', 'del', m[1]], { stdio: 'ignore' });
    }
  }
}

export interface WanOptions {
  nodes: number;
  /** One-way delay between two nodes: each pair gets a fixed one from min to max. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Added to each packet's delay, uniformly from -jitter to +jitter (order is kept). */
  jitterMs?: number;
  /** Share of packets lost between two nodes, each direction. */
  loss?: number;
}

export class Wan {
  /** Node i's address is hosts[i - 1]. */
  readonly hosts: string[];
  /** The root namespace's address on the network (no delay, no loss, never partitioned). */
  readonly hostAddress: string;
  /** One-way base delay in ms between node i and node j: delays[i][j] (1-based). */
  readonly delays: number[][];
  private router?: ChildProcess;
  private routerErr = '';
  private replies = new Map<number, (stats: WanStats) => void>();
  private nextId = 0;
  private namespaces: string[] = [];

  private constructor(
    readonly opts: Required<WanOptions>,
    private readonly subnet: [number, number, number],
  ) {
    const net = subnet.join('.');
    this.hosts = Array.from({ length: opts.nodes }, (_, i) => `${net}.${i + 1}`);
    this.hostAddress = `${net}.${HOST_OCTET}`;
    // Pairs spread evenly over [min, max], so the network has both near and far nodes.
    const pairs = (opts.nodes * (opts.nodes - 1)) / 2;
    const step = pairs > 1 ? (opts.maxDelayMs - opts.minDelayMs) / (pairs - 1) : 0;
    this.delays = Array.from({ length: opts.nodes + 1 }, () => Array(opts.nodes + 1).fill(0));
    let k = 0;
    for (let i = 1; i <= opts.nodes; i++) {
      for (let j = i + 1; j <= opts.nodes; j++) {
        this.delays[i][j] = this.delays[j][i] = Math.round(opts.minDelayMs + step * k++);
      }
    }
  }

  /** Builds the namespaces, devices and router; on any failure removes what it made. */
  static async create(options: WanOptions): Promise<Wan> {
    sweepOrphans();
    const wan = new Wan(
      { minDelayMs: 40, maxDelayMs: 80, jitterMs: 5, loss: 0.01, ...options },
      freeSubnet(),
    );
    try {
      await wan.build();
    } catch (e) {
      await wan.teardown();
      throw e;
    }
    return wan;
  }

  namespace(i: number): string {
    return `archi-${process.pid}-n${i}`;
  }

  private async build(): Promise<void> {
    const { nodes, jitterMs, loss } = this.opts;
    const tun = (i: number) => `aw${process.pid}${i === 0 ? 'h' : `n${i}`}`;
    const names = Array.from({ length: nodes + 1 }, (_, i) => tun(i));
    const config = {
      subnet: this.subnet,
      hostOctet: HOST_OCTET,
      delays: this.delays,
      jitterMs,
      loss,
    };
    const router = spawn(
      'perl',
      [
        '-e',
        TUN_SHIM,
        ...names,
        '--',
        process.execPath,
        '--import',
        'tsx',
        ROUTER,
        JSON.stringify(config),
      ],
      {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, UV_THREADPOOL_SIZE: String(nodes + 8) },
      },
    );
    this.router = router;
    router.stderr!.on('data', (d) => {
      this.routerErr += d;
    });
    let out = '';
    const ready = new Promise<void>((resolve, reject) => {
      router.once('exit', (code, signal) =>
        reject(new Error(`router exited (${code ?? signal}): ${this.routerErr}`)),
      );
      router.stdout!.on('data', (d) => {
        out += d;
        for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
          const line = out.slice(0, nl);
          out = out.slice(nl + 1);
          if (line === 'ready') resolve();
          else if (line.startsWith('{')) {
            const r = JSON.parse(line);
            this.replies.get(r.id)?.(r.stats);
            this.replies.delete(r.id);
          }
        }
      });
    });
    await ready;
    for (let i = 1; i <= nodes; i++) {
      const ns = this.namespace(i);
      ip('netns', 'add', ns);
      this.namespaces.push(ns);
      ip('link', 'set', tun(i), 'netns', ns);
      ip('-n', ns, 'addr', 'add', `${this.hosts[i - 1]}/24`, 'dev', tun(i));
      ip('-n', ns, 'link', 'set', tun(i), 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    ip('addr', 'add', `${this.hostAddress}/24`, 'dev', tun(0));
    ip('link', 'set', tun(0), 'up');
  }

  /** Spawns `command args...` inside node i's namespace (`ip netns exec` execs it: same pid). */
  spawnIn(i: number, command: string, args: string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.namespace(i), command, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  private control(cmd: object): Promise<WanStats> {
    const router = this.router;
    if (!router || router.exitCode !== null || router.signalCode !== null) {
      return Promise.reject(new Error(`router not running: ${this.routerErr}`));
    }
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      router.stdin!.write(`${JSON.stringify({ id, ...cmd })}\n`);
    });
  }

  /**
   * Only nodes in the same group reach each other (1-based node numbers; nodes in no group
   * form one more group). In-flight packets still arrive, as on a link cut behind them.
   */
  partition(groups: number[][]): Promise<WanStats> {
    return this.control({ partition: groups });
  }

  heal(): Promise<WanStats> {
    return this.control({ partition: null });
  }

  /** Packets forwarded and dropped so far. */
  stats(): Promise<WanStats> {
    return this.control({ stats: true });
  }

  /** Removes everything create() made; safe to call twice and after a failed create(). */
  async teardown(): Promise<void> {
    const router = this.router;
    if (router && router.exitCode === null && router.signalCode === null) {
      const gone = new Promise((r) => router.once('exit', r));
      router.kill('SIGKILL');
      await gone;
    }
    for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    this.namespaces = [];
  }
}

export interface WanStats {
  forwarded: number;
  lost: number;
  partitioned: number;
  toHost: number;
  fromHost: number;
}
