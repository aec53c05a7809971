/**
 * The idcode app on a 4-organization BFT network, through the `archi` CLI as a user runs it:
 * `archi up --apps` deploys it; governance hands root MA.156 to org1; org1 issues Shijiazhuang
 * (MA.156.1301) and two departments; a delegation lets org2 issue under one until it is taken
 * back; a revoked code is never issued again; every bad input exits 1 with its stable code and
 * changes nothing; `resolve --prove --json` is verified; a CSV of 1,000 codes is issued in bulk.
 * Then the apps framework's lifecycle path under a MAJORITY policy: deploy and upgrade by
 * proposal, joining an open proposal, and printing the proposal when no admin is at hand.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { deployApp } from '../../src/apps/deploy.ts';
import type { AppSpec } from '../../src/apps/types.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { Identity } from '../../src/sdk/identity.ts';
import { archi, archiJson, type CliResult, removeDir, stopAll, tempDir, up } from './harness.ts';
import { initNetwork } from './network.ts';

let dir: string;
let rpc: string;
let upOut: string;
before(async () => {
  dir = tempDir('archi-idcode-');
  await initNetwork(dir, 4);
  const net = await up(dir, ['--no-console', '--apps']);
  rpc = net.rpc;
  upOut = net.proc.out;
});
after(async () => {
  await stopAll();
  removeDir(dir);
});

const cli = (args: string[]) => archi([...args, '--dir', dir], { timeoutMs: 180_000 });
const json = (args: string[]) => archiJson([...args, '--dir', dir]);
const idcode = (...args: string[]) => cli(['idcode', ...args]);
const resolve = (code: string) => json(['idcode', 'resolve', code]);

/** Exit 1 with one line `error: CODE: ...` on stderr (besides bulk's progress lines). */
function failsWith(r: CliResult, code: string, re?: RegExp): void {
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('progress: '));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^error: ${code}: `));
  if (re) assert.match(lines[0], re);
}

function succeeds(r: CliResult): string {
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  return r.stdout;
}

test('archi up --apps deploys idcode; deploying again changes nothing', async () => {
  assert.match(upOut, /idcode: contract idcode deployed \(v1, codeHash [0-9a-f]{16}…\)/);
  const list = await json(['apps', 'list']);
  assert.equal(list[0].name, 'idcode');
  assert.equal(list[0].contracts[0].state, 'current');
  const again = await json(['apps', 'deploy', 'idcode']);
  assert.equal(again[0].status, 'unchanged');
  assert.equal(again[0].version, 1);
  // `up --apps` on the running network deploys again, which changes nothing.
  const rerun = succeeds(await cli(['up', '--apps']));
  assert.match(rerun, /already running/);
  assert.match(rerun, /idcode: contract idcode is up to date \(v1/);
  failsWith(await cli(['apps', 'deploy', 'nope']), 'INVALID_ARGS', /apps: idcode/);
  failsWith(await cli(['apps', 'deploy']), 'INVALID_ARGS');
});

test('city codes: root by governance, issue, delegate, take back, revoke, prove', async () => {
  // Nothing can be issued before governance sets the root.
  failsWith(
    await idcode('register', 'MA.156.1301', '--name', 'Shijiazhuang', '--kind', 'city'),
    'IDCODE_UNKNOWN_PARENT',
  );
  const printed = succeeds(await idcode('root', 'MA.250', '--to', 'org2', '--print'));
  assert.match(printed, /gov propose contract_call --args .*"setRoot".*--as ORG\/admin/);
  assert.deepEqual(await json(['idcode', 'roots']), []);

  const root = await json(['idcode', 'root', 'MA.156', '--to', 'org1', '--name', 'China']);
  assert.equal(root.status, 'executed');
  assert.equal(root.proposal.kind, 'contract_call');
  assert.deepEqual(root.proposal.approvals, ['org1', 'org2', 'org3']);
  assert.deepEqual(await json(['idcode', 'roots']), [
    { code: 'MA.156', name: 'China', owner: 'org1', delegate: null, children: 0 },
  ]);
  failsWith(await idcode('root', 'MA.156.1301', '--to', 'org1'), 'IDCODE_BAD_FORMAT');
  failsWith(await idcode('root', 'MA.250', '--to', 'org9'), 'IDCODE_UNKNOWN_ORG');

  const city = await json([
    'idcode',
    'register',
    'MA.156.1301',
    '--name',
    'Shijiazhuang',
    '--kind',
    'city',
    '--metadata',
    '{"province":"Hebei"}',
  ]);
  assert.equal(city.owner, 'org1');
  assert.deepEqual(city.metadata, { province: 'Hebei' });
  succeeds(
    await idcode(
      'register',
      'MA.156.1301.01',
      '--name',
      'Urban management bureau',
      '--kind',
      'department',
      '--as',
      'org1/client',
    ),
  );
  succeeds(
    await idcode(
      'register',
      'MA.156.1301.02',
      '--name',
      'Traffic management department',
      '--kind',
      'department',
    ),
  );

  // Bad inputs: each its code, exit 1, and the codes as they were.
  const before = JSON.stringify(await json(['idcode', 'children', 'MA.156.1301']));
  const reg = (code: string, ...more: string[]) =>
    idcode('register', code, '--name', 'x', '--kind', 'facility', ...more);
  for (const bad of ['MA.156.13X1', 'MA.156.1301.a1', 'MA.1561.1301', 'MA.156.1301..01']) {
    failsWith(await reg(bad), 'IDCODE_BAD_FORMAT');
  }
  failsWith(await reg('MA.156.1302.01'), 'IDCODE_UNKNOWN_PARENT');
  failsWith(await reg('MA.156.1301.03', '--as', 'org2/admin'), 'IDCODE_NOT_OWNER', /org1/);
  failsWith(await reg('MA.156.1301.01'), 'IDCODE_EXISTS');
  failsWith(await reg('MA.156.1301.03', '--metadata', '[1]'), 'IDCODE_INVALID_ARGS');
  failsWith(
    await idcode('register', 'MA.156.1301.03', '--name', 'x', '--kind', 'Not A Kind'),
    'IDCODE_INVALID_ARGS',
  );
  failsWith(await idcode('delegate', 'MA.156.1301.02', '--to', 'org9'), 'IDCODE_UNKNOWN_ORG');
  failsWith(
    await idcode('delegate', 'MA.156.1301.02', '--to', 'org2', '--as', 'org2/admin'),
    'IDCODE_NOT_OWNER',
  );
  failsWith(await idcode('reclaim', 'MA.156.1301.02'), 'IDCODE_NOT_DELEGATED');
  failsWith(await idcode('resolve', 'MA.156.1301.77'), 'IDCODE_NOT_FOUND');
  failsWith(await idcode('resolve', 'MA.156.1301.7-7'), 'IDCODE_BAD_FORMAT');
  assert.equal(JSON.stringify(await json(['idcode', 'children', 'MA.156.1301'])), before);

  // org1 delegates the traffic department's subtree to org2, which issues a device there.
  const d = await json(['idcode', 'delegate', 'MA.156.1301.02', '--to', 'org2']);
  assert.deepEqual(d.issuers, ['org1', 'org2']);
  const light = await json([
    'idcode',
    'register',
    'MA.156.1301.02.L0001',
    '--name',
    'Traffic light, Zhongshan Rd',
    '--kind',
    'device',
    '--as',
    'org2/client',
  ]);
  assert.equal(light.owner, 'org1');
  assert.equal(light.issuer, 'org2');
  failsWith(await reg('MA.156.1301.01.X1', '--as', 'org2/client'), 'IDCODE_NOT_OWNER');
  // ... until org1 takes it back.
  succeeds(await idcode('take-back', 'MA.156.1301.02'));
  failsWith(await reg('MA.156.1301.02.L0002', '--as', 'org2/client'), 'IDCODE_NOT_OWNER');
  assert.equal((await resolve('MA.156.1301.02')).delegate, null);

  // Revoked codes are never issued again, nor anything below them.
  const revoked = await json(['idcode', 'revoke', 'MA.156.1301.01', '--reason', 'merged']);
  assert.equal(revoked.status, 'revoked');
  failsWith(await reg('MA.156.1301.01'), 'IDCODE_REVOKED', /never reused/);
  failsWith(await reg('MA.156.1301.01.X1'), 'IDCODE_REVOKED');
  failsWith(await idcode('revoke', 'MA.156.1301.01'), 'IDCODE_REVOKED');

  const proven = await json(['idcode', 'resolve', 'MA.156.1301.02.L0001', '--prove']);
  assert.equal(proven.verified, true);
  assert.equal(proven.code, 'MA.156.1301.02.L0001');
  assert.equal(proven.name, 'Traffic light, Zhongshan Rd');
  assert.equal(proven.kind, 'device');
  assert.equal(proven.owner, 'org1');
  assert.equal(proven.status, 'active');
  assert.ok(proven.height > 0);
  const text = succeeds(await idcode('resolve', 'MA.156.1301.01', '--prove'));
  assert.match(text, /status: revoked/);
  assert.match(text, /verified: true/);
  failsWith(await idcode('resolve', 'MA.156.1301.99', '--prove'), 'IDCODE_NOT_FOUND', /proven/);

  const h = await json(['idcode', 'history', 'MA.156.1301.02']);
  assert.deepEqual(
    h.entries.map((e: any) => `${e.action}:${e.org}`),
    ['Issued:org1', 'Delegated:org1', 'Reclaimed:org1'],
  );
  const kids = await json(['idcode', 'children', 'MA.156.1301']);
  assert.deepEqual(
    kids.children.map((k: any) => `${k.code}:${k.status}`),
    ['MA.156.1301.01:revoked', 'MA.156.1301.02:active'],
  );
});

test('a CSV of 1,000 facility codes is issued in bulk with progress', async () => {
  const csv = join(dir, 'lamps.csv');
  const rows = ['code,name,kind,metadata', 'MA.156.1301.05,Street lamps,group,'];
  for (let i = 0; i < 1000; i++) {
    rows.push(`MA.156.1301.05.${String(i).padStart(4, '0')},Lamp ${i},facility,"{""pole"":${i}}"`);
  }
  writeFileSync(csv, `${rows.join('\n')}\n`);
  const r = await idcode('bulk', csv, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { total: 1001, issued: 1001, failed: [] });
  assert.match(r.stderr, /progress: 1001\/1001 settled, 0 refused/);
  assert.ok(r.stderr.trim().split('\n').length >= 3, r.stderr);
  // Children list in block order, which the submission order need not be.
  const listed: string[] = [];
  for (let page = 0; page < 10; page++) {
    const p = await json(['idcode', 'children', 'MA.156.1301.05', '--page', String(page)]);
    assert.equal(p.total, 1000);
    assert.equal(p.children.length, 100);
    listed.push(...p.children.map((k: any) => k.code));
  }
  assert.deepEqual(
    listed.sort(),
    rows.slice(2).map((r) => r.split(',')[0]),
  );
  assert.deepEqual((await resolve('MA.156.1301.05.0420')).metadata, { pole: 420 });

  // A file with a malformed row sends nothing.
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'MA.156.1301.06,Parks,group\nMA.156.1301.06.P-1,Park,facility\n');
  failsWith(await idcode('bulk', bad), 'IDCODE_BAD_FORMAT', /line 2.*nothing was sent/);
  failsWith(await idcode('resolve', 'MA.156.1301.06'), 'IDCODE_NOT_FOUND');

  // Rows the contract refuses are reported by line; the others are issued.
  const mixed = join(dir, 'mixed.csv');
  writeFileSync(
    mixed,
    'MA.156.1301.05.0001,again,facility\nMA.156.1301.05.1000,Lamp 1000,facility\n',
  );
  const m = await idcode('bulk', mixed);
  failsWith(m, 'IDCODE_EXISTS', /1 of 2 rows were refused \(first: line 1 MA\.156\.1301\.05\.0001/);
  assert.match(m.stdout, /issued 1 of 2 codes/);
  assert.equal((await resolve('MA.156.1301.05.1000')).name, 'Lamp 1000');
});

test('apps deploy under a MAJORITY lifecycle policy: proposals, joined, printed', async () => {
  // The consortium makes contract changes need 3 of 4 organizations.
  const id = (
    await cli([
      'gov',
      'propose',
      'set_policy',
      '--args',
      '{"which":"lifecycle","policy":"MAJORITY"}',
      '--as',
      'org1/admin',
    ])
  ).stdout.trim();
  succeeds(await cli(['gov', 'approve', id, '--as', 'org2/admin']));
  succeeds(await cli(['gov', 'approve', id, '--as', 'org3/admin']));

  const profile = getProfile('standard');
  const admin = (org: string) =>
    Identity.fromUserDir('standard', org, join(dir, 'orgs', org, 'users', 'admin'));
  const source = join(dir, 'demo.ts');
  const app: AppSpec = {
    name: 'demo',
    title: 'a test app',
    contracts: [{ name: 'demo_counter', source }],
    docs: '',
  };
  writeFileSync(source, readFileSync('contracts/counter.ts', 'utf8'));
  const client = new ArchiClient(rpc);
  const env = { client, profile, proposalDir: join(dir, 'apps-deploy'), timeoutMs: 60_000 };
  try {
    const [printed] = await deployApp(app, { ...env, admins: [] });
    assert.equal(printed.status, 'printed');
    assert.ok(printed.file && existsSync(printed.file));
    assert.equal(JSON.parse(readFileSync(printed.file, 'utf8')).name, 'demo_counter');

    const [proposed] = await deployApp(app, { ...env, admins: [admin('org1')] });
    assert.equal(proposed.status, 'proposed');
    assert.deepEqual(proposed.missing, ['org2', 'org3', 'org4']);
    // Run again with other admins: the open proposal is joined, not repeated.
    const [joined] = await deployApp(app, { ...env, admins: [admin('org2'), admin('org3')] });
    assert.equal(joined.status, 'deployed');
    assert.equal(joined.proposalId, proposed.proposalId);
    assert.equal(joined.version, 1);

    writeFileSync(
      source,
      `${readFileSync(source, 'utf8')}\nexport function twice(ctx: any) {\n  return 2 * (get(ctx) as number);\n}\n`,
    );
    const admins = ['org1', 'org2', 'org3', 'org4'].map(admin);
    const [upgraded] = await deployApp(app, { ...env, admins });
    assert.equal(upgraded.status, 'upgraded');
    assert.equal(upgraded.version, 2);
    const [same] = await deployApp(app, { ...env, admins });
    assert.equal(same.status, 'unchanged');
  } finally {
    client.close();
  }
});
