/**
 * Helpers for the tests that run the README's commands as written (newcomer-*.test.ts): a
 * work directory with an `npx` shim that runs bin/archi.js the way `npx archi` does in the
 * repository, `archi up` in its own process group (killed at the end, also when the runner
 * kills the test process), and running README blocks line by line through bash.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHI, removeDir, tempDir } from './harness.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;

/** The ```sh blocks of the README's "Using it" section. */
export function readmeBlocks(): string[] {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('## Using it');
  assert.ok(start >= 0, 'README has a "Using it" section');
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

export interface CmdResult {
  code: number;
  /** stdout and stderr, in order. */
  out: string;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const groups = new Set<number>();
let hooked = false;
/** Kill every `archi up` group still running when this process ends, however it ends. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = (): void => {
    for (const g of groups) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', killAll);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(1);
    });
  }
}

/** A directory to run README commands in, as the repository would be after `npm install`. */
export class ReadmeWorkspace {
  readonly dir = tempDir('archi-readme-');
  readonly env: NodeJS.ProcessEnv;
  private up?: { child: ChildProcess; out: string; err: string };

  constructor() {
    hookExit();
    const bin = join(this.dir, '.bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'npx'),
      `#!/bin/sh\nif [ "$1" = archi ]; then shift; npm_command=exec exec "${process.execPath}" "${ARCHI}" "$@"; fi\necho "npx shim: only npx archi" >&2; exit 127\n`,
    );
    chmodSync(join(bin, 'npx'), 0o755);
    // The README's contract example names contracts/counter.ts of the repository.
    symlinkSync(join(ROOT, 'contracts'), join(this.dir, 'contracts'));
    this.env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    delete this.env.npm_command;
  }

  /** The network directory `npm start` uses. */
  get networkDir(): string {
    return join(this.dir, '.archipelago');
  }

  /** Start `archi up ARGS` here, in its own process group; resolves with its output once up. */
  async startUp(args: string[] = [], timeoutMs = 240_000): Promise<string> {
    const child = spawn(process.execPath, [ARCHI, 'up', ...args], {
      cwd: this.dir,
      env: this.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid) groups.add(child.pid);
    const u = { child, out: '', err: '' };
    child.stdout?.on('data', (d) => {
      u.out += d;
    });
    child.stderr?.on('data', (d) => {
      u.err += d;
    });
    this.up = u;
    const deadline = Date.now() + timeoutMs;
    while (!/press Ctrl-C/.test(u.out)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`archi up did not come up: ${u.out}\n${u.err}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return u.out;
  }

  /** Ctrl-C for `archi up`: SIGTERM to its group, SIGKILL to what is left after 20 s. */
  async stopUp(): Promise<void> {
    const u = this.up;
    this.up = undefined;
    const pgid = u?.child.pid;
    if (!pgid) return;
    if (groupAlive(pgid)) process.kill(-pgid, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    while (groupAlive(pgid)) await new Promise((r) => setTimeout(r, 50));
    groups.delete(pgid);
  }

  /** Stop everything and remove the directory. */
  async close(): Promise<void> {
    await this.stopUp();
    removeDir(this.dir);
  }

  /**
   * Run shell text here with bash -e; stdout and stderr in one stream. The README's whole
   * first block (a few dozen commands that each wait for a commit) took over 4 minutes on a
   * 2-core machine under heavy load, so the bound is generous; a timeout says so in `out`.
   */
  sh(script: string, timeoutMs = 480_000): Promise<CmdResult> {
    return new Promise((resolve) => {
      execFile(
        'bash',
        ['-c', `set -eo pipefail\nexec 2>&1\n${script}`],
        { cwd: this.dir, env: this.env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout) => {
          const killed = (err as { killed?: boolean } | null)?.killed;
          const note = killed ? `\n(killed: not done within ${timeoutMs} ms)\n` : '';
          resolve({
            code: err ? Number((err as { code?: number }).code ?? 1) : 0,
            out: stdout + note,
          });
        },
      );
    });
  }

  /** `npx archi ARGS --json`, parsed. */
  async archiJson(args: string[]): Promise<any> {
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = await this.sh(`npx archi ${quoted} --json`);
    assert.equal(r.code, 0, r.out);
    return JSON.parse(r.out);
  }

  /**
   * Run a README block line by line in one shell (variables carry over), each line's output
   * after a marker; fails on the first failing line. Returns each line's output by its text.
   */
  async runBlock(block: string): Promise<Map<string, string>> {
    const lines = block.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    const script = lines
      .map((l) => `printf '%s\\n' '### ${l.replace(/'/g, `'\\''`)}'\n${l}`)
      .join('\n');
    const r = await this.sh(script);
    assert.equal(r.code, 0, `a README command failed:\n${r.out}`);
    const outputs = new Map<string, string>();
    for (const part of r.out.split(/^### /m).slice(1)) {
      const nl = part.indexOf('\n');
      outputs.set(part.slice(0, nl), part.slice(nl + 1));
    }
    assert.equal(outputs.size, lines.length, r.out);
    return outputs;
  }
}

/** The output of the one README line that contains `fragment`. */
export function outputOf(outputs: Map<string, string>, fragment: string): string {
  const hits = [...outputs.keys()].filter((l) => l.includes(fragment));
  assert.equal(hits.length, 1, `one README line with "${fragment}": ${hits.join(' | ')}`);
  return outputs.get(hits[0]) ?? '';
}
