/**
 * Helpers for end-to-end tests: run the real `archi` command, start networks as real
 * processes on 127.0.0.1, and make sure every process is gone when a test ends.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ARCHI = fileURLToPath(new URL('../../bin/archi.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `archi ARGS...` to completion. */
export function archi(
  args: string[],
  opts: { timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [ARCHI, ...args],
      { timeout: opts.timeoutMs ?? 60_000, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Run `archi ARGS... --json` and parse stdout; throws with stderr when it fails. */
export async function archiJson(args: string[]): Promise<any> {
  const r = await archi([...args, '--json']);
  if (r.code !== 0)
    throw new Error(`archi ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
}

/** `archi tx send --contract kv --method put --args ARGS --wait` in `dir`, answer as JSON. */
export function kvPut(dir: string, args: string): Promise<any> {
  return archiJson([
    'tx',
    'send',
    '--dir',
    dir,
    '--contract',
    'kv',
    '--method',
    'put',
    '--args',
    args,
    '--wait',
  ]);
}

export function tempDir(prefix = 'archi-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A long-running `archi` process (up, node start) whose output is collected. */
export class Running {
  out = '';
  err = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d) => {
      this.out += d;
    });
    child.stderr?.on('data', (d) => {
      this.err += d;
    });
    this.exited = new Promise((r) =>
      child.once('exit', (code, signal) => r(code ?? (signal ? -1 : null))),
    );
  }

  /** Wait until stdout matches `re` (or the process exits). */
  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = this.out.match(re);
      if (m) return m;
      if (this.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${re}; stdout: ${this.out}\nstderr: ${this.err}`);
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves with the exit code. */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      const code = await this.exited;
      clearTimeout(t);
      return code;
    }
    return this.exited;
  }
}

const running = new Set<Running>();

/** Start `archi ARGS...` in the background; it is stopped by stopAll(). */
export function startArchi(args: string[]): Running {
  const r = new Running(
    spawn(process.execPath, [ARCHI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  running.add(r);
  return r;
}

/** Stop every process started by startArchi (use in after/afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((r) => r.stop()));
  running.clear();
}

/** Kill -9 a pid and wait until it is gone. */
export async function kill9(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`pid ${pid} survived SIGKILL`);
}

/**
 * Start `archi up` in dir and wait until it prints its endpoints; returns the process, rpc
 * URL, node pid and the web console's URL (null when it was not started). Without the
 * service gateway, whose new database adds seconds to every start (the gateway's tests use
 * gateway-helpers.ts upWithGateway).
 */
export async function up(
  dir: string,
  extra: string[] = [],
): Promise<{ proc: Running; rpc: string; pid: number; console: string | null }> {
  const proc = startArchi(['up', '--dir', dir, '--no-gateway', ...extra]);
  const m = await proc.waitFor(/node1 {2}rpc (\S+) {2}pid (\d+)/);
  await proc.waitFor(/press Ctrl-C/);
  const c = proc.out.match(/^ {2}console (http\S+)$/m);
  return { proc, rpc: m[1], pid: Number(m[2]), console: c ? c[1] : null };
}
