/**
 * `archi chain new | join | leave`: what they write, and that bad input is refused with a
 * stable code and leaves every file as it was. Join and leave against a running node are
 * checked with a stand-in RPC that answers GET /v1/chains from the node.json it serves.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import {
  addChainEntry,
  joinChain,
  joinNetworkChains,
  leaveChain,
  removeChainEntry,
} from '../../src/cli/chain-join.ts';
import { type NewChainOptions, newChain, parsePowerList } from '../../src/cli/chain-new.ts';
import { ClientContext, cliOutput } from '../../src/cli/client-context.ts';
import { register } from '../../src/cli/commands/chain.ts';
import { initNetwork } from '../../src/cli/init-network.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { certFromPem, parseCertificate, verifyCertificate } from '../../src/crypto/x509.ts';
import { loadNodeConfig } from '../../src/node/config.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { validateGenesis } from '../../src/types/genesis.ts';
import { hex } from '../../src/types/hex.ts';

const tmpDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'archi-chain-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'));
}

// Every file under dir with its content hash, to show a refusal changed nothing.
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out.set(`${relative(dir, p)}/`, 'dir');
        walk(p);
      } else {
        out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
      }
    }
  };
  walk(dir);
  return out;
}

function coded(code: string, pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof ArchiError, `expected ArchiError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

// One 4-org network per profile (init is the slow part), copied for each test that changes it.
const bases: Record<'standard' | 'gm', string> = { standard: '', gm: '' };
before(async () => {
  for (const crypto of ['standard', 'gm'] as const) {
    bases[crypto] = join(tempDir(), 'net');
    await initNetwork({ dir: bases[crypto], orgs: 4, chain: 'alpha', crypto });
  }
});

function copyOf(crypto: 'standard' | 'gm' = 'standard'): string {
  const dir = join(tempDir(), 'net');
  cpSync(bases[crypto], dir, { recursive: true });
  return dir;
}

const nodeJson = (dir: string, node: string): string => join(dir, 'nodes', node, 'node.json');

describe('chain new', () => {
  it('makes a gm chain among three orgs of a standard network', async () => {
    const dir = copyOf();
    const r = await newChain({ dir, name: 'beta', orgs: ['org1', 'org2', 'org3'], crypto: 'gm' });
    assert.deepEqual(r.chain, {
      id: 'beta',
      crypto: 'gm',
      consensus: 'tbft',
      orgs: ['org1', 'org2', 'org3'],
      nodes: ['node1', 'node2', 'node3'],
      genesis: 'chains/beta/genesis.json',
    });
    assert.deepEqual(readJson(join(dir, 'network.json')).chains, [r.chain]);
    const g = validateGenesis(readJson(join(dir, 'chains/beta/genesis.json')));
    assert.equal(g.chainId, 'beta');
    assert.equal(g.crypto, 'gm');
    assert.deepEqual(
      g.validators.map((v) => [v.name, v.org, v.power]),
      [
        ['node1', 'org1', 10],
        ['node2', 'org2', 10],
        ['node3', 'org3', 10],
      ],
    );
    const gm = getProfile('gm');
    for (const [i, org] of ['org1', 'org2', 'org3'].entries()) {
      const o = g.orgs[i];
      const profileDir = join(dir, 'orgs', org, 'profiles', 'gm');
      // The org's new SM2 CA, and its existing P-256 TLS CA: the transport is shared.
      assert.equal(o.caCert, readFileSync(join(profileDir, 'ca/cert.pem'), 'utf8'));
      assert.equal(o.tlsCaCert, readFileSync(join(dir, 'orgs', org, 'tlsca/cert.pem'), 'utf8'));
      const ca = parseCertificate(certFromPem(o.caCert!));
      for (const user of ['admin', 'client']) {
        const cert = parseCertificate(
          certFromPem(readFileSync(join(profileDir, 'users', user, 'cert.pem'), 'utf8')),
        );
        assert.equal(verifyCertificate(gm, cert, ca), true);
        assert.equal(cert.subject.OU, user);
      }
      const node = `node${i + 1}`;
      const keyDir = join(dir, 'nodes', node, 'chains', 'beta');
      const signer = gm.signerFromPem(readFileSync(join(keyDir, 'node.key.pem'), 'utf8'));
      assert.equal(hex(signer.publicKey), g.validators[i].publicKey);
      const nodeCert = parseCertificate(
        certFromPem(readFileSync(join(keyDir, 'node.cert.pem'), 'utf8')),
      );
      assert.deepEqual([nodeCert.subject.OU, nodeCert.subject.CN], ['consensus', `${node}.${org}`]);
    }
    assert.deepEqual(
      r.newProfiles.map((p) => p.org),
      ['org1', 'org2', 'org3'],
    );
    assert.equal(existsSync(join(dir, 'orgs/org4/profiles')), false);
    assert.equal(existsSync(join(dir, 'nodes/node4/chains')), false);
    // node.json files are join's business, not new's.
    assert.equal(readJson(nodeJson(dir, 'node1')).chains, undefined);
    // A client with --chain beta signs as the org's gm identity.
    const ctx = ClientContext.resolve({ dir, chain: 'beta' });
    assert.deepEqual(
      ctx.nodes.map((n) => n.name),
      ['node1', 'node2', 'node3'],
    );
    const info = await ctx.chainInfo();
    assert.deepEqual(info, { chainId: 'beta', crypto: 'gm', identityMode: 'cert' });
    assert.equal(ctx.identity('org2/client', info).profile.name, 'gm');
    assert.equal(ctx.client().basePath, '/v1/chains/beta');
    assert.throws(
      () => ClientContext.resolve({ dir, chain: 'beta', node: 'node4' }),
      coded('BAD_REQUEST', /node4 does not host chain beta/),
    );
    assert.throws(
      () => ClientContext.resolve({ dir, chain: 'nope' }),
      coded('CHAIN_NOT_FOUND', /no chain nope .*chains: alpha, beta/),
    );
  });

  it("reuses the network's identities in its own profile and a profile made before", async () => {
    const dir = copyOf();
    await newChain({ dir, name: 'beta', orgs: ['org1', 'org2'], crypto: 'gm' });
    const before = snapshot(join(dir, 'orgs'));
    const gamma = await newChain({ dir, name: 'gamma', orgs: ['org2', 'org1'], crypto: 'gm' });
    assert.deepEqual(gamma.newProfiles, []);
    const delta = await newChain({ dir, name: 'delta', orgs: ['org4'] });
    assert.deepEqual(snapshot(join(dir, 'orgs')), before, 'no org identity was made again');
    assert.equal(delta.chain.consensus, 'solo', 'one member: solo by default');
    assert.equal(delta.chain.crypto, 'standard', "the network's profile by default");
    const g = readJson(join(dir, 'chains/gamma/genesis.json'));
    assert.deepEqual(
      g.orgs.map((o: any) => o.id),
      ['org2', 'org1'],
    );
    assert.equal(
      g.orgs[1].caCert,
      readFileSync(join(dir, 'orgs/org1/profiles/gm/ca/cert.pem'), 'utf8'),
    );
    const d = readJson(join(dir, 'chains/delta/genesis.json'));
    assert.equal(d.orgs[0].caCert, readFileSync(join(dir, 'orgs/org4/ca/cert.pem'), 'utf8'));
    assert.deepEqual(
      readJson(join(dir, 'network.json')).chains.map((c: any) => c.id),
      ['beta', 'gamma', 'delta'],
    );
  });

  it('registers keys in key identity mode, and powers given with --power', async () => {
    const dir = join(tempDir(), 'net');
    await initNetwork({ dir, orgs: 3, chain: 'alpha', identity: 'key', crypto: 'gm' });
    const r = await newChain({
      dir,
      name: 'beta',
      orgs: ['org1', 'org2', 'org3'],
      crypto: 'standard',
      power: parsePowerList('org2=5'),
    });
    assert.deepEqual(
      r.validators.map((v) => v.power),
      [10, 5, 10],
    );
    const g = readJson(join(dir, 'chains/beta/genesis.json'));
    assert.equal(g.identityMode, 'key');
    const keys = g.orgs[0].keys;
    assert.deepEqual(
      keys.map((k: any) => [k.name, k.role]),
      [
        ['admin', 'admin'],
        ['client', 'client'],
        ['node1', 'consensus'],
      ],
    );
    assert.equal(
      keys[0].publicKey,
      readFileSync(join(dir, 'orgs/org1/profiles/standard/users/admin/public.hex'), 'utf8').trim(),
    );
  });

  describe('refuses bad input and writes nothing', () => {
    const cases: Array<[string, Partial<NewChainOptions>, string, RegExp]> = [
      ['a name with a slash', { name: 'a/b' }, 'INVALID_ARGS', /chain id "a\/b" must be/],
      ['a name with a space', { name: 'a b' }, 'INVALID_ARGS', /must be 1-64/],
      ['a name starting with a dot', { name: '..' }, 'INVALID_ARGS', /must be 1-64/],
      ['an empty name', { name: '' }, 'INVALID_ARGS', /must be 1-64/],
      ['a name of 65 characters', { name: 'x'.repeat(65) }, 'INVALID_ARGS', /must be 1-64/],
      ['the first chain', { name: 'alpha' }, 'INVALID_ARGS', /chain alpha already exists/],
      ['an unknown org', { orgs: ['org1', 'org9'] }, 'INVALID_ARGS', /unknown org org9/],
      ['no org', { orgs: [] }, 'INVALID_ARGS', /names no organization/],
      ['an org twice', { orgs: ['org1', 'org1'] }, 'INVALID_ARGS', /names org1 twice/],
      [
        'solo with two orgs',
        { orgs: ['org1', 'org2'], consensus: 'solo' },
        'INVALID_ARGS',
        /solo consensus runs one node/,
      ],
      ['an unknown profile', { crypto: 'rsa' as 'gm' }, 'INVALID_ARGS', /crypto must be/],
      ['an unknown engine', { consensus: 'raft' as 'solo' }, 'INVALID_ARGS', /consensus must be/],
      [
        'power for an org not in --orgs',
        { power: { org4: 5 } },
        'INVALID_ARGS',
        /--power names org4, which is not in --orgs/,
      ],
      ['power 0', { power: { org1: 0 } }, 'INVALID_ARGS', /--power of org1 must be/],
    ];
    for (const [what, opts, code, pattern] of cases) {
      it(what, async () => {
        const dir = copyOf();
        const was = snapshot(dir);
        await assert.rejects(
          newChain({ dir, name: 'beta', orgs: ['org1', 'org2'], ...opts }),
          coded(code, pattern),
        );
        assert.deepEqual(snapshot(dir), was);
      });
    }

    it('an existing chain id, and leftovers of a chain of that id', async () => {
      const dir = copyOf();
      await newChain({ dir, name: 'beta', orgs: ['org1', 'org2'] });
      const was = snapshot(dir);
      await assert.rejects(
        newChain({ dir, name: 'beta', orgs: ['org3'] }),
        coded('INVALID_ARGS', /chain beta already exists/),
      );
      assert.deepEqual(snapshot(dir), was);
      // A node directory left from a chain of the same name made elsewhere is not overwritten.
      const other = copyOf();
      cpSync(join(dir, 'nodes/node1/chains'), join(other, 'nodes/node1/chains'), {
        recursive: true,
      });
      const otherWas = snapshot(other);
      await assert.rejects(
        newChain({ dir: other, name: 'beta', orgs: ['org1'] }),
        coded('INVALID_ARGS', /nodes\/node1\/chains\/beta already exists/),
      );
      assert.deepEqual(snapshot(other), otherWas);
    });

    it('a directory without a network', async () => {
      const dir = tempDir();
      await assert.rejects(
        newChain({ dir, name: 'beta', orgs: ['org1'] }),
        coded('CONFIG_INVALID', /no network at/),
      );
      assert.deepEqual(readdirSync(dir), []);
    });

    it('--power that is not ORG=N', () => {
      assert.throws(() => parsePowerList('org1:5'), coded('INVALID_ARGS', /ORG=N/));
      assert.throws(() => parsePowerList('org1=-1'), coded('INVALID_ARGS', /ORG=N/));
    });
  });
});

describe('chain join and leave', () => {
  it('adds the chain to node.json and takes it off again', async () => {
    const dir = copyOf();
    await newChain({ dir, name: 'beta', orgs: ['org1', 'org2', 'org3'], crypto: 'gm' });
    const config = nodeJson(dir, 'node2');
    const added = addChainEntry(config, 'beta');
    assert.equal(added.changed, true);
    const raw = readJson(config);
    assert.deepEqual(raw.chains, [
      {
        chainId: 'beta',
        genesis: '../../chains/beta/genesis.json',
        dataDir: 'chains/beta/data',
        key: 'chains/beta/node.key.pem',
        cert: 'chains/beta/node.cert.pem',
      },
    ]);
    const loaded = loadNodeConfig(config);
    assert.deepEqual(
      loaded.chains.map((c) => [c.chainId, relative(dir, c.dataDir)]),
      [
        ['alpha', 'nodes/node2/data'],
        ['beta', 'nodes/node2/chains/beta/data'],
      ],
    );
    // Joining again changes nothing.
    const text = readFileSync(config, 'utf8');
    assert.equal(addChainEntry(config, 'beta').changed, false);
    assert.equal(addChainEntry(config, 'alpha').changed, false, 'the first chain is hosted');
    assert.equal(readFileSync(config, 'utf8'), text);
    // The node is not running: leave only edits the file.
    const left = await leaveChain({ config, chain: 'beta' });
    assert.deepEqual([left.running, left.hosted], [false, false]);
    assert.equal(readJson(config).chains, undefined);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.')),
      [],
    );
  });

  it('refuses what a node cannot do, leaving node.json as it was', async () => {
    const dir = copyOf();
    await newChain({ dir, name: 'beta', orgs: ['org1', 'org2', 'org3'], crypto: 'gm' });
    await newChain({ dir, name: 'gamma', orgs: ['org1'] });
    const was = snapshot(dir);
    assert.throws(
      () => addChainEntry(nodeJson(dir, 'node4'), 'beta'),
      coded('INVALID_ARGS', /node4 \(org4\) is not a member of chain beta/),
    );
    assert.throws(
      () => addChainEntry(nodeJson(dir, 'node1'), 'nope'),
      coded('CHAIN_NOT_FOUND', /no chain nope .*beta, gamma/),
    );
    assert.throws(
      () => addChainEntry(nodeJson(dir, 'node1'), 'bad/id'),
      coded('INVALID_ARGS', /chain id "bad\/id"/),
    );
    assert.throws(
      () => addChainEntry(nodeJson(dir, 'node1'), 'beta', join(dir, 'chains/gamma/genesis.json')),
      coded('CONFIG_INVALID', /genesis of chain gamma, not beta/),
    );
    assert.throws(
      () => removeChainEntry(nodeJson(dir, 'node1'), 'alpha'),
      coded('INVALID_ARGS', /alpha is node1's first chain/),
    );
    assert.throws(
      () => removeChainEntry(nodeJson(dir, 'node1'), 'beta'),
      coded('CHAIN_NOT_FOUND', /node1 does not host chain beta/),
    );
    assert.throws(
      () => addChainEntry(join(dir, 'nodes/node9/node.json'), 'beta'),
      coded('CONFIG_INVALID', /cannot read/),
    );
    assert.deepEqual(snapshot(dir), was);

    // A key that is not the one genesis lists for the node.
    cpSync(join(dir, 'nodes/node1/chains/beta/node.key.pem'), join(dir, 'k.pem'));
    cpSync(
      join(dir, 'nodes/node2/chains/beta/node.key.pem'),
      join(dir, 'nodes/node1/chains/beta/node.key.pem'),
    );
    assert.throws(
      () => addChainEntry(nodeJson(dir, 'node1'), 'beta'),
      coded('CONFIG_INVALID', /is not the key chain beta's genesis lists for node1/),
    );
    rmSync(join(dir, 'nodes/node1/chains/beta/node.key.pem'));
    assert.throws(
      () => addChainEntry(nodeJson(dir, 'node1'), 'beta'),
      coded('CONFIG_INVALID', /node1 has no key for chain beta/),
    );
    // A node.json the node would refuse after the change (two chains on one data directory).
    cpSync(join(dir, 'k.pem'), join(dir, 'nodes/node1/chains/beta/node.key.pem'));
    const config = nodeJson(dir, 'node1');
    const raw = readJson(config);
    writeFileSync(config, JSON.stringify({ ...raw, dataDir: 'chains/beta/data' }));
    const text = readFileSync(config, 'utf8');
    assert.throws(
      () => addChainEntry(config, 'beta'),
      coded('CONFIG_INVALID', /would refuse the changed file: .*share the data directory/),
    );
    assert.equal(readFileSync(config, 'utf8'), text);
    assert.deepEqual(
      readdirSync(join(dir, 'nodes/node1')).filter((f) => f.startsWith('.')),
      [],
    );
  });

  it('waits until a running node hosts the chain, or says it did not in time', async () => {
    const dir = copyOf();
    await newChain({ dir, name: 'beta', orgs: ['org1', 'org2'] });
    const config = nodeJson(dir, 'node1');
    // A stand-in node: answers GET /v1/chains with what its node.json lists, after `lag` ms.
    let lagMs = 0;
    let frozen: string[] | undefined;
    let changedAt = 0;
    let last = '';
    const server = http.createServer((req, res) => {
      const text = readFileSync(config, 'utf8');
      if (text !== last) {
        last = text;
        changedAt = Date.now();
      }
      const raw = JSON.parse(text);
      const ids: string[] =
        Date.now() - changedAt < lagMs
          ? (frozen ?? [raw.chainId])
          : (frozen ?? [raw.chainId, ...(raw.chains ?? []).map((c: any) => c.chainId)]);
      res.setHeader('content-type', 'application/json');
      if (req.url !== '/v1/chains') {
        res.statusCode = 404;
        res.end('{}');
        return;
      }
      res.end(JSON.stringify({ chains: ids.map((id) => ({ id, height: 7 })) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      writeFileSync(
        config,
        JSON.stringify({ ...readJson(config), rpc: { host: '0.0.0.0', port } }),
      );
      lagMs = 600;
      const joined = await joinChain({ config, chain: 'beta', timeoutMs: 10_000 });
      assert.deepEqual(
        [joined.changed, joined.running, joined.hosted, joined.height],
        [true, true, true, 7],
      );
      const left = await leaveChain({ config, chain: 'beta', timeoutMs: 10_000 });
      assert.deepEqual([left.running, left.hosted], [true, false]);
      // A node that never starts the chain (its log would say why).
      frozen = ['alpha'];
      await assert.rejects(
        joinChain({ config, chain: 'beta', timeoutMs: 300 }),
        coded('TIMEOUT', /node1 .* did not start hosting chain beta within 300 ms/),
      );
      assert.equal(readJson(config).chains.length, 1, 'node.json keeps the change');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('up joins every recorded chain on its member nodes, once', async () => {
    const dir = copyOf();
    await newChain({ dir, name: 'beta', orgs: ['org1', 'org3'] });
    await newChain({ dir, name: 'gamma', orgs: ['org3', 'org4'], crypto: 'gm' });
    addChainEntry(nodeJson(dir, 'node3'), 'gamma');
    assert.deepEqual(
      joinNetworkChains(dir).map((j) => `${j.node}:${j.chain}`),
      ['node1:beta', 'node3:beta', 'node4:gamma'],
    );
    assert.deepEqual(joinNetworkChains(dir), []);
    assert.deepEqual(
      loadNodeConfig(nodeJson(dir, 'node3')).chains.map((c) => c.chainId),
      ['alpha', 'gamma', 'beta'],
    );
    assert.equal(readJson(nodeJson(dir, 'node2')).chains, undefined);
  });
});

describe('the chain commands', () => {
  async function run(args: string[]): Promise<{ out: string; error?: ArchiError }> {
    const out: string[] = [];
    const write = cliOutput.write;
    cliOutput.write = (s: string) => void out.push(s);
    const p = new Command('archi').exitOverride().configureOutput({
      writeOut: (s) => out.push(s),
      writeErr: () => {},
    });
    register(p);
    try {
      await p.parseAsync(['node', 'archi', ...args]);
      return { out: out.join('') };
    } catch (e) {
      return { out: out.join(''), error: e as ArchiError };
    } finally {
      cliOutput.write = write;
    }
  }

  it('new, join and leave print what they did; bad flags are refused', async () => {
    const dir = copyOf('gm');
    const made = await run([
      'chain',
      'new',
      '--dir',
      dir,
      '--name',
      'beta',
      '--orgs',
      'org1, org2',
    ]);
    assert.equal(made.error, undefined);
    assert.match(made.out, /^Created chain beta \(gm, tbft\) among org1, org2 in /);
    assert.match(made.out, /chain join --config \S+node1\/node.json --chain beta/);
    const joined = await run([
      'chain',
      'join',
      '--config',
      nodeJson(dir, 'node1'),
      '--chain',
      'beta',
    ]);
    assert.match(joined.out, /^node1 joined chain beta: node.json lists it .*node1 is not running/);
    const left = await run([
      'chain',
      'leave',
      '--config',
      nodeJson(dir, 'node1'),
      '--chain',
      'beta',
      '--json',
    ]);
    assert.equal(JSON.parse(left.out).changed, true);
    const emptyOrg = await run([
      'chain',
      'new',
      '--dir',
      dir,
      '--name',
      'x',
      '--orgs',
      'org1,,org2',
    ]);
    assert.equal(emptyOrg.error?.code, 'INVALID_ARGS');
    const badCrypto = await run([
      'chain',
      'new',
      '--dir',
      dir,
      '--name',
      'x',
      '--orgs',
      'org1',
      '--crypto',
      'rsa',
    ]);
    assert.equal(badCrypto.error?.code, 'commander.invalidArgument');
    const noChain = await run(['chain', 'join', '--config', nodeJson(dir, 'node1')]);
    assert.equal(noChain.error?.code, 'commander.missingMandatoryOptionValue');
    assert.equal(existsSync(join(dir, 'chains/x')), false);
  });
});

describe('ArchiClient with a chain', () => {
  it('sends every request under /v1/chains/<id>/, and /v1/chains itself at the root', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      res.end(req.url === '/v1/chains' ? '{"chains":[]}' : '{"chainId":"beta"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const c = new ArchiClient(url, { chainId: 'beta' });
      await c.status();
      await c.getBlock(3);
      await c.validators();
      await c.query('kv', 'get', {});
      await c.chains();
      await new ArchiClient(url).status();
      assert.deepEqual(seen, [
        'GET /v1/chains/beta/status',
        'GET /v1/chains/beta/blocks/3',
        'GET /v1/chains/beta/validators',
        'POST /v1/chains/beta/query',
        'GET /v1/chains',
        'GET /v1/status',
      ]);
      assert.throws(() => new ArchiClient(url, { chainId: '' }), coded('BAD_REQUEST', /chainId/));
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
