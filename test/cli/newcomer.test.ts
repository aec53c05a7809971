/**
 * Newcomer friction, the parts that need no running network: `archi id show` (real CLI
 * processes on `archi init` / `archi org new` directories, in both crypto profiles and both
 * identity modes), `npx archi` resolving to this repository's bin, the commands the CLI
 * suggests, `gov propose`'s summary, and the console port kept per network directory.
 * test/e2e/newcomer.test.ts runs the README against a real `archi up`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { archiCommand, ClientContext, dirFlag } from '../../src/cli/client-context.ts';
import { formatProposed, policyCount } from '../../src/cli/commands/gov.ts';
import { describeIdentity } from '../../src/cli/commands/id.ts';
import { CONSOLE_FILE, serveConsole, storedConsolePort } from '../../src/cli/commands/up.ts';
import { address, getProfile } from '../../src/crypto/profile.ts';
import { certFromPem, parseCertificate } from '../../src/crypto/x509.ts';
import type { ChainConfigJson } from '../../src/sdk/types.ts';
import type { ProposalJson } from '../../src/types/governance.ts';
import { unhex } from '../../src/types/hex.ts';
import { ARCHI, archi, removeDir, tempDir } from '../e2e/harness.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) removeDir(d);
});

function scratch(): string {
  const d = tempDir('archi-newcomer-');
  dirs.push(d);
  return d;
}

async function ok(args: string[]): Promise<string> {
  const r = await archi(args);
  assert.equal(r.code, 0, `archi ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('archi id show', () => {
  for (const crypto of ['standard', 'gm'] as const) {
    it(`cert mode (${crypto}): the address the chain derives, role, name and certificate validity`, async () => {
      const dir = join(scratch(), 'net');
      await ok(['init', '--dir', dir, '--orgs', '2', '--crypto', crypto]);
      const info = JSON.parse(
        await ok(['id', 'show', '--dir', dir, '--as', 'org2/client', '--json']),
      );
      const certPem = readFileSync(join(dir, 'orgs/org2/users/client/cert.pem'), 'utf8');
      const cert = parseCertificate(certFromPem(certPem));
      assert.equal(info.address, address(getProfile(crypto), cert.publicKey));
      assert.match(info.address, /^[0-9a-f]{40}$/);
      assert.equal(info.org, 'org2');
      assert.equal(info.role, 'client');
      assert.equal(info.name, cert.subject.CN);
      assert.equal(info.mode, 'cert');
      assert.equal(info.crypto, crypto);
      assert.equal(info.certificate.notBefore, new Date(cert.notBefore).toISOString());
      assert.equal(info.certificate.notAfter, new Date(cert.notAfter).toISOString());
      assert.equal(info.certificate.validNow, true);
      assert.equal(info.validity, 'certificate valid');

      const human = await ok(['id', 'show', '--dir', dir, '--as', 'org2/client']);
      assert.match(human, new RegExp(`^address +${info.address}$`, 'm'));
      assert.match(human, /^role +client$/m);
      assert.match(human, /^certificate +valid \(notBefore \S+, notAfter \S+\)$/m);
      assert.match(human, new RegExp(`^crypto +${crypto} `, 'm'));
      assert.equal(
        await ok(['id', 'show', '--dir', dir, '--as', 'org2/client', '--address']),
        `${info.address}\n`,
      );
    });
  }

  it('key mode (gm): the registered key role and name, from genesis.json or add_org.json', async () => {
    const dir = join(scratch(), 'net');
    await ok(['init', '--dir', dir, '--orgs', '2', '--crypto', 'gm', '--identity', 'key']);
    const info = JSON.parse(await ok(['id', 'show', '--dir', dir, '--as', 'org1/admin', '--json']));
    const pub = readFileSync(join(dir, 'orgs/org1/users/admin/public.hex'), 'utf8').trim();
    assert.equal(info.address, address(getProfile('gm'), unhex(pub)));
    assert.equal(info.mode, 'key');
    assert.equal(info.role, 'admin');
    assert.equal(info.name, 'admin');
    assert.equal(info.certificate, null);
    assert.equal(info.validity, 'registered key');
    assert.equal(info.registeredIn, 'genesis.json');
    assert.match(
      await ok(['id', 'show', '--dir', dir, '--as', 'org1/admin']),
      /^validity +registered key \(in genesis\.json\)$/m,
    );

    // An org made by `org new` is registered by its add_org proposal, not by genesis.
    await ok(['org', 'new', '--dir', dir, '--name', 'org3']);
    const org3 = JSON.parse(
      await ok(['id', 'show', '--dir', dir, '--as', 'org3/client', '--json']),
    );
    assert.equal(org3.role, 'client');
    assert.equal(org3.registeredIn, join('orgs', 'org3', 'add_org.json'));
  });

  it('refuses --address with --json, and an unknown identity, with one error line', async () => {
    const dir = join(scratch(), 'net');
    await ok(['init', '--dir', dir, '--orgs', '1']);
    const both = await archi(['id', 'show', '--dir', dir, '--address', '--json']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /^error: INVALID_ARGS: use --address or --json, not both\n$/);
    const nobody = await archi(['id', 'show', '--dir', dir, '--as', 'org1/bob']);
    assert.equal(nobody.code, 1);
    assert.match(
      nobody.stderr,
      /^error: INVALID_ARGS: no identity org1\/bob: .*known: org1\/admin, org1\/client\)\n$/,
    );
    const nowhere = await archi(['id', 'show', '--dir', join(dir, 'missing')]);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /no network at .*network\.json/);
  });

  it('in process: same answer as the CLI for the default identity', async () => {
    const dir = join(scratch(), 'net');
    await ok(['init', '--dir', dir, '--orgs', '1']);
    const viaCli = JSON.parse(await ok(['id', 'show', '--dir', dir, '--json']));
    const inProcess = await describeIdentity(ClientContext.resolve({ dir }), 'org1/admin');
    assert.deepEqual(viaCli, JSON.parse(JSON.stringify(inProcess)));
    assert.equal(inProcess.role, 'admin');
  });
});

describe('the command the CLI suggests', () => {
  it('is "npx archi" under npx, "node PATH" when started by path, else "archi"', () => {
    assert.equal(archiCommand({ npm_command: 'exec' }, ARCHI, ROOT), 'npx archi');
    assert.equal(archiCommand({}, join(ROOT, 'bin', 'archi.js'), ROOT), 'node bin/archi.js');
    // A directory outside the repository (a sibling: the clone itself may live under /tmp).
    const elsewhere = join(ROOT, '..', 'elsewhere');
    assert.equal(archiCommand({}, ARCHI, elsewhere), `node ${ARCHI}`);
    assert.equal(archiCommand({}, '/usr/local/bin/archi', elsewhere), 'archi');
    assert.equal(dirFlag(undefined), '');
    assert.equal(dirFlag('./.archipelago'), '');
    assert.equal(dirFlag('net 2'), " --dir 'net 2'");
  });

  it("`npx archi` in the repository runs this repository's bin (not a registry package)", async () => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((res) =>
      execFile(
        'npx',
        ['--no-install', 'archi', 'id', 'show', '--help'],
        { cwd: ROOT, timeout: 60_000 },
        (err, stdout, stderr) =>
          res({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: archi id show/);
  });

  it('init and org new print runnable commands', async () => {
    const dir = join(scratch(), 'net');
    // archi() runs `node ARCHI` from this process's directory.
    const cmd = archiCommand({}, ARCHI, process.cwd()).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const init = await ok(['init', '--dir', dir, '--orgs', '1']);
    assert.match(init, new RegExp(`Start a node: ${cmd} node start --config `));
    const made = await ok(['org', 'new', '--dir', dir, '--name', 'org2', '--power', '0']);
    const lines = made.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    // add_org must pass before add_node can be proposed.
    assert.ok(at(/gov propose add_org /) < at(/gov approve <id>/));
    assert.ok(at(/gov approve <id>/) < at(/gov propose add_node /));
    assert.match(made, /waiting for admission/);
    assert.match(made, new RegExp(`^ {2}${cmd} node start --config `, 'm'));
  });
});

describe('gov propose: what was proposed and what happens next', () => {
  const config = (over: Partial<ChainConfigJson> = {}) =>
    ({
      orgs: ['org1', 'org2', 'org3', 'org4'].map((id) => ({ id })),
      governancePolicy: 'MAJORITY',
      lifecyclePolicy: 'ALL',
      ...over,
    }) as ChainConfigJson;
  const proposal = (over: Partial<ProposalJson> = {}): ProposalJson => ({
    id: 1,
    kind: 'set_kv_write_roles',
    args: { roles: ['admin'] },
    proposer: { org: 'org1', id: 'aa' },
    createdAt: 12,
    expiresAt: 112,
    status: 'pending',
    approvals: ['org1'],
    rejections: [],
    closedAt: null,
    ...over,
  });
  const result = (p: ProposalJson) => ({ txId: 'ff', height: 12, proposal: p, receipt: {} as any });
  const next = { archi: 'npx archi', target: '' };

  it('counts approvals against the policy of the kind', () => {
    assert.deepEqual(policyCount(proposal(), config()), {
      policy: 'MAJORITY',
      orgs: 4,
      approved: 1,
      needed: 3,
    });
    const deploy = proposal({ kind: 'contract_deploy', approvals: ['org1', 'gone'] });
    assert.deepEqual(policyCount(deploy, config()), {
      policy: 'ALL',
      orgs: 4,
      approved: 1,
      needed: 4,
    });
    assert.equal(policyCount(proposal(), config({ governancePolicy: '2/3' })).needed, 3);
  });

  it('a pending proposal: the count and the command the others run', () => {
    const p = proposal();
    const text = formatProposed(result(p), policyCount(p, config()), config(), {
      archi: 'npx archi',
      target: ' --dir net',
    });
    assert.equal(
      text,
      [
        'proposal 1: set_kv_write_roles {"roles":["admin"]} proposed by org1 in block 12 (policy MAJORITY: 1 of 4 orgs approved, 3 needed); open for votes until block 112.',
        'Others (org2, org3, org4) approve with: npx archi gov approve 1 --as ORG/admin --dir net',
      ].join('\n'),
    );
  });

  it('an executed one says so; long args are cut', () => {
    const p = proposal({
      kind: 'add_org',
      args: { id: 'org5', caCert: `-----BEGIN CERTIFICATE-----\n${'A'.repeat(500)}` },
      status: 'executed',
      closedAt: 12,
    });
    const text = formatProposed(result(p), policyCount(p, config()), config(), next);
    assert.ok(
      text.startsWith(
        'proposal 1: add_org {"id":"org5","caCert":"-----BEGIN CERTIFICATE--…"} proposed by org1 in block 12',
      ),
      text,
    );
    assert.ok(text.length < 300, text);
    assert.match(
      text,
      /and executed at once \(policy MAJORITY\); it applies from the next block\.$/,
    );
  });
});

describe('the console port is kept per network directory', () => {
  it('reuses the stored port, and moves (saying so) when another program holds it', async () => {
    const dir = scratch();
    const said: string[] = [];
    const first = await serveConsole(dir, undefined, (l) => said.push(l));
    const port = Number(new URL(first.url).port);
    assert.equal(storedConsolePort(dir), port);
    await first.close();
    const second = await serveConsole(dir, undefined, (l) => said.push(l));
    assert.equal(second.url, first.url);
    await second.close();
    assert.equal(said.length, 0);

    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
    try {
      const third = await serveConsole(dir, undefined, (l) => said.push(l));
      const moved = Number(new URL(third.url).port);
      assert.notEqual(moved, port);
      assert.equal(storedConsolePort(dir), moved);
      assert.equal(said.length, 1);
      assert.match(
        said[0],
        new RegExp(
          `console port ${port} \\(kept in .*${CONSOLE_FILE}\\) is taken .* moves to port ${moved}`,
        ),
      );
      await third.close();
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });

  it('--console-port wins and is kept', async () => {
    const dir = scratch();
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const s = await serveConsole(dir, port, () => {});
    assert.equal(s.url, `http://127.0.0.1:${port}`);
    assert.equal(storedConsolePort(dir), port);
    await s.close();
  });
});
