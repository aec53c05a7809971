/**
 * The datashare app on a 4-organization BFT network, through the `archi` CLI as a user runs it:
 * `archi apps deploy datashare` deploys it; org1 publishes a file (encrypted into the
 * content-addressed store, registered on chain); grantees enroll their certificates; a grantee
 * decrypts the exact file, while a non-grantee, a user the grant does not seal to and, after
 * revocation, the revoked grantee cannot; a grant with an end expires by block time; a
 * re-publish under a new key carries a live grant and drops another; a damaged or missing store
 * copy is refused before the audited tx; every bad input exits 1 with its stable code and
 * changes nothing; the console's Data sharing page shows the dataset, grant states and trail.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, browserMissing, cell, openBrowser } from './browser.ts';
import {
  archi,
  archiJson,
  type CliResult,
  removeDir,
  startArchi,
  stopAll,
  tempDir,
} from './harness.ts';
import { initNetwork, waitUntil } from './network.ts';

let dir: string;
let consoleUrl: string | null;
before(async () => {
  dir = tempDir('archi-datashare-');
  await initNetwork(dir, 4);
  // The console only when a browser can look at it. `up` first rebuilds console/dist when its
  // sources changed, which on a busy machine outlasts harness.up's minute: wait longer here.
  const proc = startArchi([
    'up',
    '--dir',
    dir,
    '--no-gateway',
    ...(browserMissing ? ['--no-console'] : []),
  ]);
  await proc.waitFor(/press Ctrl-C/, 360_000);
  consoleUrl = proc.out.match(/^ {2}console (http\S+)$/m)?.[1] ?? null;
});
after(async () => {
  await stopAll();
  removeDir(dir);
});

const cli = (args: string[]) => archi([...args, '--dir', dir], { timeoutMs: 120_000 });
const json = (args: string[]) => archiJson([...args, '--dir', dir]);
const data = (...args: string[]) => cli(['data', ...args]);

/** Exit 1 with one line `error: CODE: ...` on stderr. */
function failsWith(r: CliResult, code: string, re?: RegExp): void {
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^error: ${code}: `));
  if (re) assert.match(lines[0], re);
}

function succeeds(r: CliResult): string {
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  return r.stdout;
}

const original = randomBytes(300_000);
const file = () => join(dir, 'meters.bin');
const out = (n: string) => join(dir, `out-${n}.bin`);
const show = () => json(['data', 'show', 'meters']);

test('archi apps deploy datashare deploys it once', async () => {
  const first = await json(['apps', 'deploy', 'datashare']);
  assert.deepEqual([first[0].contract, first[0].status], ['datashare', 'deployed']);
  const again = await json(['apps', 'deploy', 'datashare']);
  assert.equal(again[0].status, 'unchanged');
});

test('publish: encrypted into the store, registered on chain; bad input changes nothing', async () => {
  writeFileSync(file(), original);
  const p = await json([
    'data',
    'publish',
    file(),
    '--name',
    'meters',
    '--schema',
    'raw meter frames',
    '--terms',
    'research only; no resale',
  ]);
  const d = p.dataset;
  assert.deepEqual(
    [d.name, d.owner, d.version, d.size, d.cipher, d.hash, d.terms],
    ['meters', 'org1', 1, original.length, 'AES-256-GCM', 'SHA-256', 'research only; no resale'],
  );
  const stored = readFileSync(join(p.store, d.cipherHash));
  assert.equal(stored.length, d.cipherSize);
  assert.equal(stored.indexOf(original.subarray(0, 64)), -1, 'the store holds no plaintext');

  failsWith(await data('publish', file(), '--name', 'meters'), 'DATA_EXISTS');
  failsWith(await data('publish', file(), '--name', 'Meters!'), 'DATA_INVALID_ARGS');
  failsWith(await data('publish', join(dir, 'nope.bin'), '--name', 'x'), 'DATA_INVALID_ARGS');
  failsWith(await data('publish', file(), '--name', 'x', '--replace'), 'DATA_UNKNOWN');
  failsWith(
    await data('publish', file(), '--name', 'meters', '--replace', '--as', 'org2/admin'),
    'DATA_NOT_OWNER',
  );
  const list = await json(['data', 'list']);
  assert.equal(list.total, 1);
  assert.equal((await show()).audits, 1);
});

test('a grantee decrypts; a non-grantee and an ungranted user cannot', async () => {
  // Before org2 enrolls, nothing on chain can take its sealed key.
  failsWith(await data('grant', 'meters', '--to', 'org2'), 'DATA_NO_KEY', /data enroll/);
  for (const who of ['org2/admin', 'org3/admin', 'org4/client']) {
    succeeds(await data('enroll', '--as', who));
  }
  failsWith(await data('grant', 'meters', '--to', 'org9'), 'DATA_UNKNOWN_ORG');
  failsWith(await data('grant', 'nope', '--to', 'org2'), 'DATA_UNKNOWN');
  failsWith(await data('grant', 'meters', '--to', 'org2', '--as', 'org2/admin'), 'DATA_NOT_OWNER');
  failsWith(await data('grant', 'meters', '--to', 'org2', '--until', 'soon'), 'DATA_INVALID_ARGS');
  failsWith(
    await data('grant', 'meters', '--to', 'org2', '--until', '2001-01-01T00:00:00Z'),
    'DATA_INVALID_ARGS',
  );
  failsWith(await data('grant', 'meters', '--to', 'org2/client'), 'DATA_NO_KEY');
  assert.deepEqual((await show()).grantList, []);

  const g = await json(['data', 'grant', 'meters', '--to', 'org2']);
  assert.deepEqual([g.org, g.users, g.state], ['org2', ['admin.org2'], 'live']);
  const f = await json(['data', 'fetch', 'meters', '--as', 'org2/admin', '-o', out('org2')]);
  assert.deepEqual(readFileSync(out('org2')), original);
  assert.equal(f.size, original.length);

  failsWith(
    await data('fetch', 'meters', '--as', 'org3/admin', '-o', out('org3')),
    'DATA_NOT_GRANTED',
  );
  failsWith(
    await data('fetch', 'meters', '--as', 'org2/client', '-o', out('org2c')),
    'DATA_NOT_GRANTED',
    /seals the key to admin.org2/,
  );
  failsWith(await data('fetch', 'nope', '--as', 'org2/admin', '-o', out('x')), 'DATA_UNKNOWN');
  assert.equal(existsSync(out('org3')) || existsSync(out('org2c')), false);

  const trail = await json(['data', 'audit', 'meters']);
  assert.deepEqual(
    trail.entries.map((e: any) => [e.action, e.org, e.user, e.grantee]),
    [
      ['fetch', 'org2', 'admin.org2', null],
      ['grant', 'org1', 'admin.org1', 'org2'],
      ['publish', 'org1', 'admin.org1', null],
    ],
  );
});

test('a damaged or missing store copy is refused before the audited fetch', async () => {
  const d = await show();
  const bad = join(dir, 'bad-store');
  mkdirSync(bad);
  const copy = join(bad, d.cipherHash);
  copyFileSync(join(dir, 'datashare', 'archipelago-local', d.cipherHash), copy);
  const bytes = readFileSync(copy);
  bytes[100] ^= 1;
  writeFileSync(copy, bytes);
  failsWith(
    await data('fetch', 'meters', '--as', 'org2/admin', '-o', out('bad'), '--store', bad),
    'DATA_HASH_MISMATCH',
  );
  failsWith(
    await data(
      'fetch',
      'meters',
      '--as',
      'org2/admin',
      '-o',
      out('bad'),
      '--store',
      join(dir, 'empty'),
    ),
    'DATA_NOT_STORED',
  );
  assert.equal((await show()).audits, d.audits, 'no audit entry for a refused fetch');
});

test('revocation: the revoked grantee cannot fetch from the next block', async () => {
  failsWith(
    await data('revoke', 'meters', '--from', 'org2', '--as', 'org2/admin'),
    'DATA_NOT_OWNER',
  );
  failsWith(await data('revoke', 'meters', '--from', 'org3'), 'DATA_NOT_GRANTED');
  const r = await json(['data', 'revoke', 'meters', '--from', 'org2']);
  assert.equal(r.state, 'revoked');
  failsWith(
    await data('fetch', 'meters', '--as', 'org2/admin', '-o', out('revoked')),
    'DATA_REVOKED',
  );
  failsWith(await data('revoke', 'meters', '--from', 'org2'), 'DATA_REVOKED');
  assert.equal(existsSync(out('revoked')), false);
});

test('a grant with an end expires by block time', async () => {
  const g = await json(['data', 'grant', 'meters', '--to', 'org3', '--until', '+15s']);
  assert.equal(g.state, 'live');
  await waitUntil(
    async () => (await show()).grantList.find((x: any) => x.org === 'org3').state === 'expired',
    'the org3 grant to expire by block time',
    60_000,
    1000,
  );
  failsWith(await data('fetch', 'meters', '--as', 'org3/admin', '-o', out('org3')), 'DATA_EXPIRED');
});

test('re-publish under a new key carries a live grant and revokes the dropped one', async () => {
  succeeds(await data('grant', 'meters', '--to', 'org4/client'));
  succeeds(await data('grant', 'meters', '--to', 'org3'));
  const next = randomBytes(1000);
  writeFileSync(file(), next);
  const p = await json([
    'data',
    'publish',
    file(),
    '--name',
    'meters',
    '--replace',
    '--drop',
    'org3',
  ]);
  assert.equal(p.dataset.version, 2);
  assert.deepEqual(p.revoked, ['org3']);
  succeeds(await data('fetch', 'meters', '--as', 'org4/client', '-o', out('org4')));
  assert.deepEqual(readFileSync(out('org4')), next);
  failsWith(await data('fetch', 'meters', '--as', 'org3/admin', '-o', out('org3')), 'DATA_REVOKED');
  const states = Object.fromEntries(
    (await show()).grantList.map((x: any) => [x.org, [x.state, x.version]]),
  );
  assert.deepEqual(states, {
    org2: ['revoked', 1],
    org3: ['revoked', 1],
    org4: ['live', 2],
  });
  // The publisher fetches its own dataset with its own sealed key.
  succeeds(await data('fetch', 'meters', '-o', out('org1')));
  assert.deepEqual(readFileSync(out('org1')), next);
  const trail = await json(['data', 'audit', 'meters']);
  assert.deepEqual(
    trail.entries.slice(0, 4).map((e: any) => [e.action, e.org, e.grantee, e.version]),
    [
      ['fetch', 'org1', null, 2],
      ['fetch', 'org4', null, 2],
      ['revoke', 'org1', 'org3', 2],
      ['republish', 'org1', null, 2],
    ],
  );
});

test('console: the Data sharing page shows datasets, grant states and the audit trail', {
  skip: browserMissing ? 'no chromium' : false,
}, async () => {
  assert.ok(consoleUrl, 'archi up printed no console URL');
  let browser: Browser | undefined;
  try {
    browser = await openBrowser();
    const page = browser.page;
    await page.goto(`${consoleUrl}#/datashare/meters`);
    const row = page.locator('[data-testid="ds-datasets"] tr[data-dataset="meters"]');
    await row.waitFor();
    assert.equal(await cell(row, 'owner'), 'org1');
    assert.equal(await cell(row, 'version'), '2');
    const grants = page.getByTestId('ds-grants');
    await grants.waitFor();
    for (const [org, state] of [
      ['org2', 'revoked'],
      ['org3', 'revoked'],
      ['org4', 'live'],
    ]) {
      assert.equal(await cell(grants.locator(`tr[data-org="${org}"]`), 'state'), state);
    }
    const audit = page.getByTestId('ds-audit');
    assert.equal(await audit.locator('tr[data-action="fetch"]').count(), 3);
    assert.equal(await audit.locator('tr[data-action="revoke"]').count(), 2);
    assert.match(
      await cell(audit.locator('tr[data-action="republish"]'), 'what'),
      /new key \(v2\)/,
    );
    await browser.shot('datashare');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser?.close();
  }
});
