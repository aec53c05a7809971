/**
 * `archi init --hosts` and `archi pack`: node configs that listen on and dial the given
 * hosts, refusals of bad host lists that write nothing, and bundles that hold exactly the
 * files a node needs, with paths relative to the bundle and no private key but its own.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { list as tarList } from 'tar';
import { register as registerInit } from '../../src/cli/commands/init.ts';
import { register as registerPack } from '../../src/cli/commands/pack.ts';
import {
  checkHost,
  DEFAULT_HOSTS_BASE_PORT,
  initNetwork,
  type NetworkInfo,
  type NodeConfigFile,
} from '../../src/cli/init-network.ts';
import { packNode } from '../../src/cli/pack.ts';
import { ArchiError } from '../../src/types/errors.ts';

const ARCHI = fileURLToPath(new URL('../../bin/archi.js', import.meta.url));
const HOSTS = ['10.0.0.1', 'node2.example.com', 'fd00::3', '10.0.0.4'];
const P2P = DEFAULT_HOSTS_BASE_PORT + 1;

const tmpDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'archi-pack-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function isArchiError(code: string, pattern?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof ArchiError, `expected ArchiError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

// Commands in process, output through commander's writeOut (as test/cli/init.test.ts does).
async function run(args: string[]): Promise<string> {
  const out: string[] = [];
  const p = new Command('archi')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.push(s), writeErr: () => {} });
  registerInit(p);
  registerPack(p);
  await p.parseAsync(args, { from: 'user' });
  return out.join('');
}

// The real command, for what a person sees: exit code and the one error line.
function archi(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ARCHI, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as any).code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface Entry {
  type: string;
  mode: number;
  data: Buffer;
}

/** Every entry of a .tar.gz, read with the tar library. */
async function bundleEntries(file: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  await tarList({
    file,
    onReadEntry: (e) => {
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () =>
        out.set(e.path, { type: e.type, mode: e.mode ?? 0, data: Buffer.concat(chunks) }),
      );
    },
  });
  return out;
}

const PEM_KEY = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----([\s\S]*?)-----END \1-----/g;

/** The base64 bodies of every PEM private key in `text`. */
function keyBodies(text: string): string[] {
  return [...text.matchAll(PEM_KEY)].map((m) => m[2].replace(/\s+/g, ''));
}

/** Every private key under `dir`, by body, with the file that holds it. */
function networkKeys(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !p.endsWith('.tar.gz')) {
        for (const body of keyBodies(readFileSync(p, 'latin1'))) out.set(body, relative(dir, p));
      }
    }
  };
  walk(dir);
  return out;
}

describe('archi init --hosts', () => {
  let dir: string;
  let info: NetworkInfo;

  before(async () => {
    dir = join(tempDir(), 'net');
    info = JSON.parse(
      await run([
        'init',
        '--dir',
        dir,
        '--hosts',
        HOSTS.map((h) => (h.includes(':') ? `[${h}]` : h)).join(','),
        '--json',
      ]),
    );
  });

  it('takes one org per host when --orgs is not given', () => {
    assert.deepEqual(
      info.nodes.map((n) => [n.name, n.org]),
      [
        ['node1', 'org1'],
        ['node2', 'org2'],
        ['node3', 'org3'],
        ['node4', 'org4'],
      ],
    );
  });

  it('makes each node listen on its own host, all on the same two ports', () => {
    for (const [i, n] of info.nodes.entries()) {
      const cfg = readJson<NodeConfigFile>(join(dir, 'nodes', n.name, 'node.json'));
      assert.deepEqual(cfg.rpc, { host: HOSTS[i], port: DEFAULT_HOSTS_BASE_PORT });
      assert.deepEqual(cfg.p2p, { host: HOSTS[i], port: P2P });
    }
  });

  it('makes each node dial every peer at its host (IPv6 in brackets)', () => {
    const address = (h: string) => (h.includes(':') ? `[${h}]:${P2P}` : `${h}:${P2P}`);
    for (const [i, n] of info.nodes.entries()) {
      const cfg = readJson<NodeConfigFile>(join(dir, 'nodes', n.name, 'node.json'));
      assert.deepEqual(
        cfg.peers,
        info.nodes
          .map((p, j) => ({ name: p.name, address: address(HOSTS[j]) }))
          .filter((_, j) => j !== i),
      );
    }
  });

  it('gives the hosts in network.json, where client commands find the nodes', () => {
    assert.deepEqual(readJson(join(dir, 'network.json')), info);
    assert.deepEqual(
      info.nodes.map((n) => n.rpc),
      [
        `http://10.0.0.1:${DEFAULT_HOSTS_BASE_PORT}`,
        `http://node2.example.com:${DEFAULT_HOSTS_BASE_PORT}`,
        `http://[fd00::3]:${DEFAULT_HOSTS_BASE_PORT}`,
        `http://10.0.0.4:${DEFAULT_HOSTS_BASE_PORT}`,
      ],
    );
    assert.equal(info.nodes[2].p2p, `[fd00::3]:${P2P}`);
  });

  it('keeps --base-port, and gives orgs that share a host ports of their own', async () => {
    const d = join(tempDir(), 'net');
    const net = await initNetwork({
      dir: d,
      hosts: ['a.example', 'b.example', 'A.example'],
      basePort: 30000,
    });
    assert.deepEqual(
      net.nodes.map((n) => [n.rpc, n.p2p]),
      [
        ['http://a.example:30000', 'a.example:30001'],
        ['http://b.example:30000', 'b.example:30001'],
        ['http://a.example:30002', 'a.example:30003'],
      ],
    );
  });

  it('reads hosts as addresses or DNS names', () => {
    assert.equal(checkHost('192.168.1.7'), '192.168.1.7');
    assert.equal(checkHost('[FD00::1]'), 'fd00::1');
    assert.equal(checkHost('Node-1.Example.COM.'), 'node-1.example.com');
    assert.equal(checkHost('localhost'), 'localhost');
    for (const bad of [
      'bad_host',
      '-x.example',
      'x-.example',
      '10.0.0.256',
      '10.0.0',
      '0.0.0.0',
      '::',
      'fe80::1%eth0',
      'a..b',
      `${'a'.repeat(64)}.example`,
      'host:80',
    ]) {
      assert.throws(() => checkHost(bad), isArchiError('INVALID_ARGS'), bad);
    }
  });

  const refusals: Array<[string, string[], RegExp]> = [
    ['fewer hosts than orgs', ['--orgs', '4', '--hosts', 'h1,h2,h3'], /3 hosts for 4 orgs/],
    ['more hosts than orgs', ['--orgs', '2', '--hosts', 'h1,h2,h3'], /3 hosts for 2 orgs/],
    ['a bad host name', ['--hosts', 'h1,bad_host,h3,h4'], /host "bad_host"/],
    ['an empty entry', ['--hosts', 'h1,,h3,h4'], /entry 2 is empty/],
    ['the unspecified address', ['--hosts', '0.0.0.0,h2'], /unspecified/],
  ];
  for (const [what, args, msg] of refusals) {
    it(`refuses ${what} with one error line and writes nothing`, async () => {
      const parent = tempDir();
      const r = await archi(['init', '--dir', join(parent, 'net'), ...args]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^error: INVALID_ARGS: init: /);
      assert.match(lines[0], msg);
      assert.deepEqual(readdirSync(parent), []);
    });
  }

  it('leaves a network without --hosts on 127.0.0.1 as before', async () => {
    const net = await initNetwork({ dir: join(tempDir(), 'net'), orgs: 2, basePort: 31000 });
    assert.deepEqual(
      net.nodes.map((n) => n.p2p),
      ['127.0.0.1:31001', '127.0.0.1:31003'],
    );
  });
});

describe('archi pack', () => {
  let dir: string;
  let bundle: string;
  let entries: Map<string, Entry>;
  let printed: string;

  const NODE = 'node2';
  const expected = [
    'README.md',
    'archipelago-node2.service',
    'genesis.json',
    'node.cert.pem',
    'node.json',
    'node.key.pem',
    ...['org1', 'org2', 'org3', 'org4'].flatMap((o) => [
      `orgs/${o}/ca/cert.pem`,
      `orgs/${o}/tlsca/cert.pem`,
    ]),
    'tls.cert.pem',
    'tls.key.pem',
  ];

  before(async () => {
    dir = join(tempDir(), 'net');
    await run(['init', '--dir', dir, '--hosts', '10.1.0.1,10.1.0.2,10.1.0.3,10.1.0.4']);
    printed = await run(['pack', '--dir', dir, '--node', NODE]);
    bundle = join(dir, 'bundles', `${NODE}.tar.gz`);
    entries = await bundleEntries(bundle);
  });

  it('says where it wrote the bundle, owner-only', () => {
    assert.match(printed, new RegExp(`Packed node2 into ${bundle.replace(/[.]/g, '\\.')}`));
    assert.equal(statSync(bundle).mode & 0o777, 0o600);
  });

  it('holds exactly the files the node needs, under one top directory', () => {
    const files = [...entries].filter(([, e]) => e.type === 'File').map(([p]) => p);
    assert.deepEqual(files.sort(), expected.map((f) => `${NODE}/${f}`).sort());
    for (const p of entries.keys()) assert.ok(p.startsWith(`${NODE}/`), p);
  });

  it('rewrites node.json with paths relative to the bundle', () => {
    const cfg = JSON.parse(entries.get(`${NODE}/node.json`)?.data.toString('utf8') ?? '');
    const original = readJson<NodeConfigFile>(join(dir, 'nodes', NODE, 'node.json'));
    const paths = [cfg.genesis, cfg.key, cfg.cert, cfg.tls.key, cfg.tls.cert, ...cfg.tls.cas];
    for (const p of paths) {
      assert.ok(!isAbsolute(p) && !p.split('/').includes('..'), p);
      assert.ok(entries.has(`${NODE}/${p}`), `${p} is in the bundle`);
    }
    assert.equal(cfg.genesis, 'genesis.json');
    assert.equal(cfg.caCerts, 'orgs');
    assert.equal(cfg.dataDir, 'data');
    // Everything but the paths is the node's own config.
    for (const k of ['name', 'org', 'chainId', 'rpc', 'p2p', 'peers', 'logLevel'] as const) {
      assert.deepEqual(cfg[k], original[k], k);
    }
  });

  it('copies the genesis and certificates byte for byte', () => {
    for (const [inBundle, inDir] of [
      ['genesis.json', 'genesis.json'],
      ['node.cert.pem', `nodes/${NODE}/node.cert.pem`],
      ['tls.cert.pem', `nodes/${NODE}/tls.cert.pem`],
      ['orgs/org3/tlsca/cert.pem', 'orgs/org3/tlsca/cert.pem'],
    ]) {
      assert.deepEqual(entries.get(`${NODE}/${inBundle}`)?.data, readFileSync(join(dir, inDir)));
    }
  });

  it("carries this node's private keys only", () => {
    const all = networkKeys(dir);
    const inBundle = [...entries.values()].flatMap((e) => keyBodies(e.data.toString('latin1')));
    const owners = inBundle.map((body) => all.get(body));
    // Every key in the bundle is one of the network's, and it is this node's.
    assert.deepEqual(owners.sort(), [`nodes/${NODE}/node.key.pem`, `nodes/${NODE}/tls.key.pem`]);
    const others = [...all.values()].filter((p) => !p.startsWith(`nodes/${NODE}/`));
    assert.ok(others.length >= 4 * 6 - 2, 'the network holds the other keys');
    for (const [path, e] of entries) {
      const mode = e.type === 'Directory' ? 0o700 : path.endsWith('.key.pem') ? 0o600 : 0o644;
      assert.equal(e.mode & 0o777, mode, path);
    }
  });

  it('writes a systemd unit that runs the node from its install directory', () => {
    const unit = entries.get(`${NODE}/archipelago-node2.service`)?.data.toString('utf8') ?? '';
    assert.match(unit, /^User=archipelago$/m);
    assert.match(unit, /^WorkingDirectory=\/opt\/archipelago\/node2$/m);
    assert.match(
      unit,
      /^ExecStart=\/usr\/bin\/env archi node start --config \/opt\/archipelago\/node2\/node\.json$/m,
    );
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
  });

  it('writes a README with the ports to open and where the admin keys stay', () => {
    const readme = entries.get(`${NODE}/README.md`)?.data.toString('utf8') ?? '';
    assert.match(readme, new RegExp(`\\*\\*${P2P}/tcp\\*\\* \\(p2p`));
    assert.match(readme, new RegExp(`\\*\\*${DEFAULT_HOSTS_BASE_PORT}/tcp\\*\\* \\(RPC`));
    assert.match(readme, /admin\s+and client keys/);
    assert.match(readme, /archi status --rpc http:\/\/10\.1\.0\.2:26700/);
    assert.match(
      readme,
      /tar -xzf node2\.tar\.gz -C \/opt\/archipelago\/node2 --strip-components=1/,
    );
  });

  it('refuses a second pack to the same output and leaves it unchanged', async () => {
    const before = readFileSync(bundle);
    await assert.rejects(
      run(['pack', '--dir', dir, '--node', NODE]),
      isArchiError('INVALID_ARGS', /already exists/),
    );
    assert.deepEqual(readFileSync(bundle), before);
    assert.deepEqual(readdirSync(join(dir, 'bundles')), [`${NODE}.tar.gz`]);
  });

  it('refuses an unknown node, naming the known ones', async () => {
    await assert.rejects(
      packNode({ dir, node: 'node9' }),
      isArchiError('INVALID_ARGS', /no node named node9 .*node1, node2, node3, node4/),
    );
    await assert.rejects(packNode({ dir, node: '../node1' }), isArchiError('INVALID_ARGS'));
  });

  it('refuses a missing directory with one error line', async () => {
    const missing = join(tempDir(), 'nothing-here');
    const r = await archi(['pack', '--dir', missing, '--node', 'node1']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `error: INVALID_ARGS: pack: no network directory at ${missing}\n`);
    assert.equal(existsSync(missing), false);
  });

  it('writes to --out and names the install dir in the unit', async () => {
    const out = join(tempDir(), 'n3.tgz');
    const r = await packNode({ dir, node: 'node3', out, installDir: '/srv/chain/n3' });
    assert.equal(r.out, out);
    const unit = (await bundleEntries(out)).get('node3/archipelago-node3.service');
    assert.match(unit?.data.toString('utf8') ?? '', /^WorkingDirectory=\/srv\/chain\/n3$/m);
    await assert.rejects(
      packNode({ dir, node: 'node3', out: join(tempDir(), 'x.tgz'), installDir: 'relative/dir' }),
      isArchiError('INVALID_ARGS', /--install-dir/),
    );
  });

  describe('with a node.json that names other files', () => {
    // Each case edits node4's node.json in its own copy of the network.
    function copyWith(edit: (cfg: any, d: string) => void): string {
      const d = join(tempDir(), 'net');
      cpSync(dir, d, { recursive: true });
      rmSync(join(d, 'bundles'), { recursive: true, force: true });
      const path = join(d, 'nodes', 'node4', 'node.json');
      const cfg = readJson<any>(path);
      edit(cfg, d);
      writeFileSync(path, JSON.stringify(cfg, null, 2));
      return d;
    }

    const leaks: Array<[string, (cfg: any) => void, RegExp]> = [
      [
        'a key of another node',
        (cfg) => {
          cfg.key = '../node1/node.key.pem';
        },
        /not in .*nodes\/node4/,
      ],
      [
        'an admin key',
        (cfg) => {
          cfg.tls.key = '../../orgs/org4/users/admin/key.pem';
        },
        /not in .*nodes\/node4/,
      ],
      [
        'a private key in place of a certificate',
        (cfg) => {
          cfg.tls.cas.push('../../orgs/org4/tlsca/key.pem');
        },
        /holds a private key/,
      ],
      [
        'a file outside the network directory',
        (cfg) => {
          cfg.genesis = '/nonexistent/genesis.json';
        },
        /outside/,
      ],
    ];
    for (const [what, edit, msg] of leaks) {
      it(`refuses ${what} and writes nothing`, async () => {
        const d = copyWith(edit);
        await assert.rejects(
          packNode({ dir: d, node: 'node4' }),
          isArchiError('CONFIG_INVALID', msg),
        );
        assert.equal(existsSync(join(d, 'bundles')), false);
      });
    }

    it('takes the genesis, key and certificate of every chains[] entry', async () => {
      const d = copyWith((cfg, root) => {
        mkdirSync(join(root, 'chains', 'side'), { recursive: true });
        cpSync(join(root, 'genesis.json'), join(root, 'chains', 'side', 'genesis.json'));
        cfg.chains = [
          {
            chainId: cfg.chainId,
            genesis: cfg.genesis,
            dataDir: 'data',
            key: cfg.key,
            cert: cfg.cert,
          },
          {
            chainId: 'side',
            genesis: '../../chains/side/genesis.json',
            dataDir: 'side-data',
            key: 'node.key.pem',
            cert: 'node.cert.pem',
          },
        ];
      });
      const r = await packNode({ dir: d, node: 'node4' });
      const got = await bundleEntries(r.out);
      assert.ok(got.has('node4/chains/side/genesis.json'));
      const cfg = JSON.parse(got.get('node4/node.json')?.data.toString('utf8') ?? '');
      assert.deepEqual(cfg.chains, [
        {
          chainId: 'archipelago-local',
          genesis: 'genesis.json',
          dataDir: 'data',
          key: 'node.key.pem',
          cert: 'node.cert.pem',
        },
        {
          chainId: 'side',
          genesis: 'chains/side/genesis.json',
          dataDir: 'side-data',
          key: 'node.key.pem',
          cert: 'node.cert.pem',
        },
      ]);
      assert.ok(!got.has('node4/side-data'), 'data directories are not copied');
    });
  });
});
