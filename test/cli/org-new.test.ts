import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { register } from '../../src/cli/commands/org.ts';
import {
  initNetwork,
  type NetworkInfo,
  type NodeConfigFile,
  writeStaged,
} from '../../src/cli/init-network.ts';
import { type NewOrgOptions, type NewOrgResult, newOrg } from '../../src/cli/org-new.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import {
  certFromPem,
  type ParsedCertificate,
  parseCertificate,
  roleOf,
  verifyCertificate,
} from '../../src/crypto/x509.ts';
import { loadNodeConfig } from '../../src/node/config.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { hex } from '../../src/types/hex.ts';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;
const ORGS = ['org1', 'org2', 'org3', 'org4'];

const tmpDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'archi-org-new-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function cert(path: string): ParsedCertificate {
  return parseCertificate(certFromPem(readFileSync(path, 'utf8')));
}

// Every file and directory under dir with its content hash, to show a refusal changed nothing.
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

function isConfigInvalid(pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof ArchiError, `expected ArchiError, got ${String(e)}`);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.match(e.message, /^org new: /);
    assert.match(e.message, pattern);
    return true;
  };
}

// One 4-org network per profile, copied for each test that changes it (init is the slow part).
const templates = new Map<string, string>();
async function network(crypto: 'standard' | 'gm', identity: 'cert' | 'key'): Promise<string> {
  const key = `${crypto}/${identity}`;
  let tpl = templates.get(key);
  if (!tpl) {
    tpl = join(tempDir(), 'net');
    await initNetwork({ dir: tpl, orgs: 4, crypto, identity, consensus: 'tbft' });
    templates.set(key, tpl);
  }
  const dir = join(tempDir(), 'net');
  cpSync(tpl, dir, { recursive: true });
  return dir;
}

for (const [crypto, identity] of [
  ['standard', 'cert'],
  ['gm', 'key'],
] as const) {
  describe(`archi org new: ${crypto} crypto, ${identity} identity`, () => {
    const profile = getProfile(crypto);
    let dir: string;
    let initial: Map<string, string>;
    let network0: NetworkInfo;
    let genesisText: string;
    let r: NewOrgResult;
    const org5 = (...p: string[]): string => join(dir, 'orgs', 'org5', ...p);
    const node5 = (...p: string[]): string => join(dir, 'nodes', 'node5', ...p);

    before(async () => {
      dir = await network(crypto, identity);
      initial = snapshot(dir);
      network0 = readJson(join(dir, 'network.json'));
      genesisText = readFileSync(join(dir, 'genesis.json'), 'utf8');
      r = await newOrg({ dir, name: 'org5' });
    });

    it('names the node node5 and gives it fresh ports on 127.0.0.1', () => {
      assert.equal(r.org, 'org5');
      assert.equal(r.node, 'node5');
      assert.equal(r.proposer, 'org1');
      assert.match(r.rpc, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(r.p2p, /^127\.0\.0\.1:\d+$/);
      const used = network0.nodes.flatMap((n) => [n.rpc.split(':')[2], n.p2p.split(':')[1]]);
      const mine = [r.rpc.split(':')[2], r.p2p.split(':')[1]];
      assert.notEqual(mine[0], mine[1]);
      for (const p of mine) assert.ok(!used.includes(p), `port ${p} is taken`);
    });

    it('adds only the new org and node and the updated JSON files', () => {
      const now = snapshot(dir);
      const added = [...now.keys()].filter((k) => !initial.has(k)).sort();
      const changed = [...initial.keys()].filter((k) => now.get(k) !== initial.get(k)).sort();
      assert.ok(added.every((p) => p.startsWith('orgs/org5/') || p.startsWith('nodes/node5/')));
      for (const f of [
        'ca/cert.pem',
        'ca/key.pem',
        'tlsca/cert.pem',
        'tlsca/key.pem',
        'proposals.json',
        'add_org.json',
        'add_node.json',
        ...['admin', 'client'].flatMap((u) =>
          ['key.pem', 'cert.pem', 'public.hex'].map((x) => `users/${u}/${x}`),
        ),
      ]) {
        assert.ok(added.includes(`orgs/org5/${f}`), f);
      }
      for (const f of [
        'node.json',
        'node.key.pem',
        'node.cert.pem',
        'tls.key.pem',
        'tls.cert.pem',
      ]) {
        assert.ok(added.includes(`nodes/node5/${f}`), f);
      }
      assert.deepEqual(changed, [
        'network.json',
        'nodes/node1/node.json',
        'nodes/node2/node.json',
        'nodes/node3/node.json',
        'nodes/node4/node.json',
      ]);
      assert.equal(readFileSync(join(dir, 'genesis.json'), 'utf8'), genesisText);
      assert.ok(!readdirSync(dir).some((n) => n.startsWith('.')), 'no staging dir left');
    });

    it('writes private keys readable by the owner only', () => {
      for (const key of [
        org5('ca', 'key.pem'),
        org5('tlsca', 'key.pem'),
        org5('users', 'admin', 'key.pem'),
        org5('users', 'client', 'key.pem'),
        node5('node.key.pem'),
        node5('tls.key.pem'),
      ]) {
        assert.equal(statSync(key).mode & 0o777, 0o600, key);
      }
    });

    it('issues the users and the node from the new org CA in the chain profile', () => {
      const ca = cert(org5('ca', 'cert.pem'));
      assert.deepEqual(ca.subject, { O: 'org5', CN: 'ca.org5' });
      assert.ok(ca.isCA);
      assert.ok(verifyCertificate(profile, ca, ca), 'self-signed');
      const otherCa = cert(join(dir, 'orgs', 'org1', 'ca', 'cert.pem'));
      for (const [path, role, cn] of [
        [org5('users', 'admin', 'cert.pem'), 'admin', 'admin.org5'],
        [org5('users', 'client', 'cert.pem'), 'client', 'client.org5'],
        [node5('node.cert.pem'), 'consensus', 'node5.org5'],
      ] as const) {
        const c = cert(path);
        assert.ok(verifyCertificate(profile, c, ca), `${path} under org5 CA`);
        assert.ok(!verifyCertificate(profile, c, otherCa), `${path} not under org1 CA`);
        assert.equal(roleOf(c), role);
        assert.deepEqual(c.subject, { O: 'org5', OU: role, CN: cn });
        assert.ok(!c.isCA);
        const keyPem = readFileSync(path.replace(/cert\.pem$/, 'key.pem'), 'utf8');
        assert.equal(hex(profile.signerFromPem(keyPem).publicKey), hex(c.publicKey));
      }
      for (const u of ['admin', 'client']) {
        assert.equal(
          readFileSync(org5('users', u, 'public.hex'), 'utf8'),
          `${hex(cert(org5('users', u, 'cert.pem')).publicKey)}\n`,
        );
      }
    });

    it('issues the node TLS certificate from the new P-256 TLS CA', () => {
      const p256 = getProfile('standard');
      const tlsCa = cert(org5('tlsca', 'cert.pem'));
      assert.deepEqual(tlsCa.subject, { O: 'org5', CN: 'tlsca.org5' });
      assert.ok(verifyCertificate(p256, tlsCa, tlsCa));
      const tls = cert(node5('tls.cert.pem'));
      assert.deepEqual(tls.subject, { O: 'org5', OU: 'consensus', CN: 'node5' });
      assert.ok(verifyCertificate(p256, tls, tlsCa));
      for (const org of ORGS) {
        const other = cert(join(dir, 'orgs', org, 'tlsca', 'cert.pem'));
        assert.ok(!verifyCertificate(p256, tls, other), `not under ${org} TLS CA`);
      }
      const keyPem = readFileSync(node5('tls.key.pem'), 'utf8');
      assert.equal(hex(p256.signerFromPem(keyPem).publicKey), hex(tls.publicKey));
    });

    it('writes a node.json on the same genesis that trusts every TLS CA and dials every node', () => {
      const cfg = readJson<NodeConfigFile>(node5('node.json'));
      const [rpcPort, p2pPort] = [Number(r.rpc.split(':')[2]), Number(r.p2p.split(':')[1])];
      assert.equal(cfg.name, 'node5');
      assert.equal(cfg.org, 'org5');
      assert.equal(cfg.chainId, readJson<{ chainId: string }>(join(dir, 'genesis.json')).chainId);
      assert.equal(cfg.genesis, '../../genesis.json');
      assert.deepEqual(cfg.rpc, { host: '127.0.0.1', port: rpcPort });
      assert.deepEqual(cfg.p2p, { host: '127.0.0.1', port: p2pPort });
      assert.deepEqual(
        cfg.tls.cas,
        [...ORGS, 'org5'].map((o) => `../../orgs/${o}/tlsca/cert.pem`),
      );
      assert.deepEqual(
        cfg.peers,
        network0.nodes.map((n) => ({ name: n.name, address: n.p2p })),
      );
      // Same layout as init's node.json files, and the node's own loader takes it.
      const init1 = readJson<NodeConfigFile>(join(dir, 'nodes', 'node1', 'node.json'));
      assert.deepEqual(Object.keys(cfg), Object.keys(init1));
      const loaded = loadNodeConfig(node5('node.json'));
      assert.equal(loaded.genesisPath, join(dir, 'genesis.json'));
      assert.equal(loaded.keyPath, node5('node.key.pem'));
      assert.equal(loaded.tls?.certPath, node5('tls.cert.pem'));
      assert.deepEqual(
        loaded.tls?.caPaths,
        [...ORGS, 'org5'].map((o) => join(dir, 'orgs', o, 'tlsca', 'cert.pem')),
      );
    });

    it('appends the node to network.json and to every other node.json', () => {
      const net = readJson<NetworkInfo>(join(dir, 'network.json'));
      assert.deepEqual(net, {
        ...network0,
        nodes: [...network0.nodes, { name: 'node5', org: 'org5', rpc: r.rpc, p2p: r.p2p }],
      });
      for (const n of network0.nodes) {
        const path = join(dir, 'nodes', n.name, 'node.json');
        const cfg = readJson<NodeConfigFile>(path);
        const tpl = readJson<NodeConfigFile>(
          join(templates.get(`${crypto}/${identity}`) as string, 'nodes', n.name, 'node.json'),
        );
        assert.deepEqual(cfg, {
          ...tpl,
          tls: { ...tpl.tls, cas: [...tpl.tls.cas, '../../orgs/org5/tlsca/cert.pem'] },
          peers: [...tpl.peers, { name: 'node5', address: r.p2p }],
        });
        assert.equal(loadNodeConfig(path).peers.at(-1)?.name, 'node5');
      }
    });

    it('returns the add_org and add_node proposals and writes them to proposals.json', () => {
      assert.deepEqual(readJson(org5('proposals.json')), r.proposals);
      assert.deepEqual(readJson(org5('add_org.json')), r.proposals[0].args);
      assert.deepEqual(readJson(org5('add_node.json')), r.proposals[1].args);
      const [addOrg, addNode] = r.proposals;
      assert.equal(addOrg.kind, 'add_org');
      assert.deepEqual(
        Object.keys(addOrg.args).sort(),
        identity === 'key' ? ['caCert', 'id', 'keys', 'tlsCaCert'] : ['caCert', 'id', 'tlsCaCert'],
      );
      assert.equal(addOrg.args.id, 'org5');
      assert.equal(addOrg.args.caCert, readFileSync(org5('ca', 'cert.pem'), 'utf8'));
      assert.equal(addOrg.args.tlsCaCert, readFileSync(org5('tlsca', 'cert.pem'), 'utf8'));
      const nodeKey = hex(cert(node5('node.cert.pem')).publicKey);
      if (identity === 'key') {
        const pub = (u: string): string =>
          readFileSync(org5('users', u, 'public.hex'), 'utf8').trim();
        assert.deepEqual(addOrg.args.keys, [
          { name: 'admin', role: 'admin', publicKey: pub('admin') },
          { name: 'client', role: 'client', publicKey: pub('client') },
          { name: 'node5', role: 'consensus', publicKey: nodeKey },
        ]);
        // The same shape init registers for the genesis orgs.
        const g = readJson<{ orgs: Array<{ keys: Array<{ name: string; role: string }> }> }>(
          join(dir, 'genesis.json'),
        );
        assert.deepEqual(
          g.orgs[0].keys.map((k) => [k.name === 'node1' ? 'node' : k.name, k.role]),
          (addOrg.args.keys ?? []).map((k) => [k.name === 'node5' ? 'node' : k.name, k.role]),
        );
      }
      assert.equal(addNode.kind, 'add_node');
      assert.deepEqual(addNode.args, {
        name: 'node5',
        org: 'org5',
        publicKey: nodeKey,
        address: r.p2p,
        power: 10,
      });
    });

    it('counts on from the nodes in network.json for the next org', async () => {
      const r6 = await newOrg({ dir, name: 'org6', power: 0 });
      assert.equal(r6.node, 'node6');
      assert.equal(r6.proposals[1].args.power, 0);
      const cfg = readJson<NodeConfigFile>(join(dir, 'nodes', 'node6', 'node.json'));
      assert.deepEqual(
        cfg.tls.cas,
        [...ORGS, 'org5', 'org6'].map((o) => `../../orgs/${o}/tlsca/cert.pem`),
      );
      assert.deepEqual(
        cfg.peers.map((p) => p.name),
        ['node1', 'node2', 'node3', 'node4', 'node5'],
      );
      const cfg5 = readJson<NodeConfigFile>(node5('node.json'));
      assert.deepEqual(cfg5.peers.at(-1), { name: 'node6', address: r6.p2p });
      assert.equal(cfg5.tls.cas.at(-1), '../../orgs/org6/tlsca/cert.pem');
    });
  });
}

describe('archi org new: options and refusals', () => {
  let dir: string;
  before(async () => {
    dir = await network('standard', 'cert');
  });

  it('takes the node name, power, host and ports it is given', async () => {
    const d = await network('standard', 'cert');
    const r = await newOrg({
      dir: d,
      name: 'acme',
      node: 'peer0.acme',
      power: 3,
      host: '127.0.0.2',
      rpcPort: 41000,
      p2pPort: 41001,
    });
    assert.equal(r.node, 'peer0.acme');
    assert.equal(r.rpc, 'http://127.0.0.2:41000');
    assert.equal(r.p2p, '127.0.0.2:41001');
    assert.equal(r.proposals[1].args.power, 3);
    assert.equal(r.proposals[1].args.address, '127.0.0.2:41001');
    const cfg = readJson<NodeConfigFile>(join(d, 'nodes', 'peer0.acme', 'node.json'));
    assert.deepEqual(cfg.p2p, { host: '127.0.0.2', port: 41001 });
    assert.deepEqual(cert(join(d, 'nodes', 'peer0.acme', 'node.cert.pem')).subject, {
      O: 'acme',
      OU: 'consensus',
      CN: 'peer0.acme.acme',
    });
  });

  it('skips node names that are taken in nodes/', async () => {
    const d = await network('standard', 'cert');
    mkdirSync(join(d, 'nodes', 'node5'));
    const r = await newOrg({ dir: d, name: 'org5' });
    assert.equal(r.node, 'node6');
  });

  it('makes nodes of a solo chain non-validators', async () => {
    const d = join(tempDir(), 'solo');
    await initNetwork({ dir: d, orgs: 1 });
    const r = await newOrg({ dir: d, name: 'org2' });
    assert.equal(r.node, 'node2');
    assert.equal(r.proposals[1].args.power, 0);
    const snap = snapshot(d);
    await assert.rejects(
      newOrg({ dir: d, name: 'org3', power: 10 }),
      isConfigInvalid(/solo consensus/),
    );
    assert.deepEqual(snapshot(d), snap);
  });

  const refusals: Array<[string, () => Partial<NewOrgOptions>, RegExp]> = [
    ['an org of genesis', () => ({ name: 'org2' }), /org org2 already exists in genesis/],
    ['an org directory that exists', () => ({ name: 'org9' }), /org org9 already exists in .*orgs/],
    [
      'a node of network.json',
      () => ({ name: 'org5', node: 'node3' }),
      /node node3 already exists in network\.json/,
    ],
    [
      'a node directory that exists',
      () => ({ name: 'org5', node: 'spare' }),
      /node spare already exists/,
    ],
    ['a bad org name', () => ({ name: 'bad name!' }), /org name "bad name!"/],
    ['an empty org name', () => ({ name: '' }), /org name/],
    ['a bad node name', () => ({ name: 'org5', node: '-x' }), /node name "-x"/],
    ['a negative power', () => ({ name: 'org5', power: -1 }), /power/],
    ['a fractional power', () => ({ name: 'org5', power: 1.5 }), /power/],
    ['a bad host', () => ({ name: 'org5', host: 'localhost' }), /host/],
    ['a low port', () => ({ name: 'org5', rpcPort: 80 }), /RPC port/],
    ['equal ports', () => ({ name: 'org5', rpcPort: 42000, p2pPort: 42000 }), /must differ/],
    [
      "another node's port",
      () => ({
        name: 'org5',
        p2pPort: Number(
          readJson<NetworkInfo>(join(dir, 'network.json')).nodes[1].p2p.split(':')[1],
        ),
      }),
      /p2p port \d+ on 127\.0\.0\.1 is already used by node2/,
    ],
  ];
  for (const [what, opts, msg] of refusals) {
    it(`refuses ${what} and changes nothing`, async () => {
      mkdirSync(join(dir, 'orgs', 'org9'), { recursive: true });
      mkdirSync(join(dir, 'nodes', 'spare'), { recursive: true });
      const snap = snapshot(dir);
      await assert.rejects(newOrg({ dir, name: 'org5', ...opts() }), isConfigInvalid(msg));
      assert.deepEqual(snapshot(dir), snap);
    });
  }

  it('refuses a directory without a network and writes nothing', async () => {
    const empty = tempDir();
    await assert.rejects(newOrg({ dir: empty, name: 'org5' }), isConfigInvalid(/no network at/));
    assert.deepEqual(readdirSync(empty), []);
    const missing = join(empty, 'nope');
    await assert.rejects(newOrg({ dir: missing, name: 'org5' }), isConfigInvalid(/no network at/));
    assert.deepEqual(readdirSync(empty), []);
    // network.json alone (genesis.json gone) is no network either.
    writeFileSync(join(empty, 'network.json'), '{"nodes":[]}\n');
    await assert.rejects(newOrg({ dir: empty, name: 'org5' }), isConfigInvalid(/genesis\.json/));
    assert.deepEqual(readdirSync(empty), ['network.json']);
  });

  it('refuses a broken node.json of another node and changes nothing', async () => {
    const d = await network('standard', 'cert');
    writeFileSync(join(d, 'nodes', 'node2', 'node.json'), '{"peers": 3}\n');
    const snap = snapshot(d);
    await assert.rejects(newOrg({ dir: d, name: 'org5' }), isConfigInvalid(/peers must be a list/));
    assert.deepEqual(snapshot(d), snap);
  });
});

describe('staged writes', () => {
  it('put replaced files back when a later move fails', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'a.json'), 'old a\n');
    mkdirSync(join(d, 'sub'));
    writeFileSync(join(d, 'sub', 'b.json'), 'old b\n');
    const snap = snapshot(d);
    await assert.rejects(
      writeStaged(
        d,
        [
          { path: 'a.json', data: 'new a\n' },
          { path: 'sub/b.json', data: 'new b\n' },
          { path: 'fresh/c.pem', data: 'c\n', secret: true },
        ],
        {
          prefix: '.test-',
          // 'missing' was never staged, so its move fails after the others went in.
          entries: ['fresh', 'a.json', 'sub/b.json', 'missing'],
          replace: ['a.json', 'sub/b.json'],
          recheck: async () => {},
        },
      ),
      /ENOENT/,
    );
    assert.deepEqual(snapshot(d), snap);
  });
});

describe('archi org new command', () => {
  async function runInProcess(args: string[]): Promise<string> {
    const out: string[] = [];
    const p = new Command('archi')
      .exitOverride()
      .configureOutput({ writeOut: (s) => out.push(s), writeErr: () => {} });
    register(p);
    await p.parseAsync(['org', 'new', ...args], { from: 'user' });
    return out.join('');
  }

  it('prints what it created and the two governance commands', async () => {
    const dir = await network('standard', 'cert');
    const out = await runInProcess(['--dir', dir, '--name', 'org5', '--node', 'n5']);
    assert.match(out, /Created org org5 and node n5 \(validator, power 10\)/);
    const proposals = readJson<NewOrgResult['proposals']>(
      join(dir, 'orgs', 'org5', 'proposals.json'),
    );
    for (const p of proposals) {
      const line = out.split('\n').find((l) => l.includes(`archi gov propose ${p.kind} `));
      assert.ok(line, p.kind);
      const m = /--args @(\S+) --as org1\/admin --dir (\S+)$/.exec(line);
      assert.ok(m, line);
      assert.deepEqual(JSON.parse(readFileSync(m[1], 'utf8')), p.args);
      assert.equal(m[2], dir);
    }
    assert.match(out, /archi node start --config .*nodes\/n5\/node\.json/);
  });

  it('runs as `archi org new --json` and prints the result', async () => {
    const dir = await network('gm', 'key');
    const { stdout } = await run(
      process.execPath,
      [
        join(ROOT, 'bin', 'archi.js'),
        'org',
        'new',
        '--dir',
        dir,
        '--name',
        'org5',
        '--power',
        '7',
        '--json',
      ],
      { cwd: ROOT },
    );
    const out = JSON.parse(stdout) as NewOrgResult;
    assert.deepEqual(Object.keys(out), ['org', 'node', 'rpc', 'p2p', 'proposals']);
    assert.equal(out.org, 'org5');
    assert.equal(out.node, 'node5');
    assert.deepEqual(readJson(join(dir, 'orgs', 'org5', 'proposals.json')), out.proposals);
    assert.deepEqual(
      out.proposals.map((p) => p.kind),
      ['add_org', 'add_node'],
    );
    assert.equal(out.proposals[0].args.keys?.length, 3);
    assert.equal(out.proposals[1].args.power, 7);
    assert.equal(out.proposals[1].args.address, out.p2p);
    const ca = cert(join(dir, 'orgs', 'org5', 'ca', 'cert.pem'));
    assert.ok(
      verifyCertificate(getProfile('gm'), cert(join(dir, 'nodes', 'node5', 'node.cert.pem')), ca),
    );
  });

  it('exits 1 with one CONFIG_INVALID line for an existing org', async () => {
    const dir = await network('standard', 'cert');
    const snap = snapshot(dir);
    await assert.rejects(
      run(
        process.execPath,
        [join(ROOT, 'bin', 'archi.js'), 'org', 'new', '--dir', dir, '--name', 'org1'],
        {
          cwd: ROOT,
        },
      ),
      (e: { code?: number; stderr?: string }) => {
        assert.equal(e.code, 1);
        assert.match(
          e.stderr ?? '',
          /^error: CONFIG_INVALID: org new: org org1 already exists in genesis\.json\n$/,
        );
        return true;
      },
    );
    assert.deepEqual(snapshot(dir), snap);
  });
});
