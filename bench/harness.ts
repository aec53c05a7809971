/**
 * What the process-level benches (run.ts, ibc.ts) share: running the `archi` CLI, starting a
 * network's nodes as processes and waiting until they serve, stopping processes, cleaning up
 * on Ctrl-C, the machine's description and writing a result file under bench/results/.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_V8_FLAGS } from '../src/node/v8-flags.ts';

export const ARCHI = fileURLToPath(new URL('../bin/archi.js', import.meta.url));

/**
 * Runs `archi ARGS...` to completion; resolves to its stdout, rejects with its stderr. With
 * `cleanup` the process is tracked, so an interrupted bench stops it too (a CLI waiting on a
 * node holds its connections open, and a stopping node waits for those).
 */
export function runArchi(args: string[], cleanup?: Cleanup): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [ARCHI, ...args],
      { maxBuffer: 64 << 20, timeout: 600_000 },
      (err, out, errOut) =>
        err ? reject(new Error(`archi ${args.join(' ')}: ${errOut || err.message}`)) : resolve(out),
    );
    cleanup?.process(child);
  });
}

/**
 * Waits until the child's stdout matches `re`; resolves to the output so far. Rejects if the
 * child exits first or, with `timeoutMs`, when that passes.
 */
export async function waitFor(
  child: ChildProcess,
  re: RegExp,
  timeoutMs?: number,
): Promise<string> {
  let out = '';
  let matched = false;
  await new Promise<void>((resolve, reject) => {
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => reject(new Error(`no ${re} within ${timeoutMs} ms`)), timeoutMs);
    // Kept listening after the match: the pipe must be drained or the child blocks on a full one.
    child.stdout?.on('data', (d) => {
      if (matched) return;
      out += d;
      if (re.test(out)) {
        matched = true;
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code}`));
    });
  });
  return out;
}

/** How the nodes of a network are started. */
export interface NodeStartOptions {
  /** Directory for each node's V8 CPU profile, written when it stops. */
  cpuProfDir?: string;
  /** Each node's stdout is also written to DIR/PREFIX-nodeN.log. */
  logs?: { dir: string; prefix: string };
}

/** Starts nodes 1..count of the network in `dir`, one process each, with the nodes' V8 flags. */
export function spawnNodes(dir: string, count: number, o: NodeStartOptions = {}): ChildProcess[] {
  const nodes = Array.from({ length: count }, (_, k) =>
    spawn(
      process.execPath,
      [
        ...NODE_V8_FLAGS,
        ...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : []),
        ARCHI,
        'node',
        'start',
        '--config',
        join(dir, 'nodes', `node${k + 1}`, 'node.json'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  );
  if (o.logs) {
    mkdirSync(o.logs.dir, { recursive: true });
    for (const [k, node] of nodes.entries())
      node.stdout?.pipe(createWriteStream(join(o.logs.dir, `${o.logs.prefix}-node${k + 1}.log`)));
  }
  return nodes;
}

/** Waits until every node of spawnNodes serves; resolves to their RPC URLs, in node order. */
export async function waitNodes(nodes: ChildProcess[], timeoutMs?: number): Promise<string[]> {
  const started = await Promise.all(
    nodes.map((node, k) => waitFor(node, new RegExp(`node${k + 1} rpc \\S+ height`), timeoutMs)),
  );
  return started.map((out, k) => new RegExp(`node${k + 1} rpc (\\S+) height`).exec(out)![1]);
}

const exited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

/**
 * Stops processes with SIGTERM and waits until they are gone; one still running after
 * `graceMs` gets SIGKILL.
 */
export async function stopProcesses(children: ChildProcess[], graceMs = 30_000): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (exited(child)) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited(child)) child.kill('SIGKILL');
      }, graceMs);
      await gone;
      clearTimeout(timer);
    }),
  );
}

/**
 * Processes and temp dirs a bench made, removed by `run()` on every way out: the normal end,
 * an error, and (after `onSignals()`) Ctrl-C or SIGTERM, which then exit the bench.
 */
export class Cleanup {
  private readonly children = new Set<ChildProcess>();
  private readonly dirs = new Set<string>();
  private running: Promise<void> | undefined;
  /** Set once a signal started the cleanup: the bench is on its way out. */
  interrupted = false;

  /** Track a child process; returns it. */
  process<T extends ChildProcess>(child: T): T {
    this.children.add(child);
    return child;
  }

  /** Track a temp dir; returns it. */
  dir(path: string): string {
    this.dirs.add(path);
    return path;
  }

  /** Stop every tracked process, then remove every tracked dir (once, however often called). */
  run(): Promise<void> {
    this.running ??= (async () => {
      await stopProcesses([...this.children]);
      for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    })();
    return this.running;
  }

  /** On SIGINT/SIGTERM: clean up and exit (130/143). */
  onSignals(): void {
    const handler = (signal: NodeJS.Signals): void => {
      this.interrupted = true;
      process.stderr.write(`\n${signal}: stopping processes and removing temp dirs\n`);
      this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  }
}

/** The machine a result was measured on. */
export function machineInfo(): { cpus: number; model?: string; memGiB: number; node: string } {
  return {
    cpus: availableParallelism(),
    model: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

/** The checkout's short commit, or null outside git. */
export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/**
 * Writes `report` to bench/results/NAME-DATE.json (DATE: `report.date` with ':' and '.' as
 * '-'), prints it on stdout and the file's path on stderr; returns the path.
 */
export function writeReport(name: string, report: { date: string }): string {
  const dirOut = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dirOut, { recursive: true });
  const file = join(dirOut, `${name}-${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
  console.error(`written to ${file}`);
  return file;
}

/** A node's `process_cpu_seconds_total` from its Prometheus metrics (user + system CPU). */
export async function nodeCpuSeconds(rpc: string): Promise<number> {
  const r = await fetch(`${rpc}/metrics`);
  if (!r.ok) throw new Error(`${rpc}/metrics: ${r.status}`);
  const m = /^process_cpu_seconds_total\s+(\S+)/m.exec(await r.text());
  if (!m) throw new Error(`${rpc}/metrics: no process_cpu_seconds_total`);
  return Number(m[1]);
}

/** Busy and total jiffies of all CPUs so far (/proc/stat), for the machine's load over a span. */
export function machineJiffies(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
    const n = f.map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are not work.
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - n[3] - n[4], total };
  } catch {
    return undefined;
  }
}
