import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
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
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { register } from '../../src/cli/commands/init.ts';
import {
  type InitOptions,
  initNetwork,
  type NetworkInfo,
  type NodeConfigFile,
} from '../../src/cli/init-network.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { CONSENSUS } from '../../src/p2p/frame.ts';
import { P2PNode } from '../../src/p2p/node.ts';
import { certFromPem, parseCertificate, verifyCertificate } from '../../src/crypto/x509.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { validateGenesis } from '../../src/types/genesis.ts';

const tmpDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'archi-init-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

// Every file under dir with its content hash, to show a refused init changed nothing.
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

function isArchiError(code: string, pattern?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof ArchiError, `expected ArchiError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

const ORGS = ['org1', 'org2', 'org3', 'org4'];

for (const crypto of ['standard', 'gm'] as const) {
  for (const identity of ['cert', 'key'] as const) {
    describe(`archi init: ${crypto} crypto, ${identity} identity`, () => {
      let dir: string;
      let info: NetworkInfo;

      // [path, org, role] of every leaf certificate init writes.
      const leaves = (): Array<[string, string, string]> =>
        ORGS.flatMap((org, i) => [
          [join(dir, 'orgs', org, 'users', 'admin', 'cert.pem'), org, 'admin'],
          [join(dir, 'orgs', org, 'users', 'client', 'cert.pem'), org, 'client'],
          [join(dir, 'nodes', `node${i + 1}`, 'node.cert.pem'), org, 'consensus'],
        ]);
      const caOf = (org: string): string => join(dir, 'orgs', org, 'ca', 'cert.pem');
      // OpenSSL 3.0 checks SM2 cert signatures with an empty signer ID unless given the
      // GM/T 0009 default one (see the note at the top of src/crypto/x509.ts).
      const verify = (ca: string, cert: string): string =>
        openssl(
          'verify',
          ...(crypto === 'gm' ? ['-vfyopt', 'distid:1234567812345678'] : []),
          '-CAfile',
          ca,
          cert,
        );

      before(async () => {
        dir = join(tempDir(), 'net');
        info = await initNetwork({
          dir,
          orgs: 4,
          chain: 'test-chain',
          crypto,
          consensus: 'tbft',
          identity,
        });
      });

      it('describes the network in network.json', () => {
        assert.deepEqual(readJson(join(dir, 'network.json')), info);
        assert.equal(info.chain, 'test-chain');
        assert.equal(info.crypto, crypto);
        assert.equal(info.identityMode, identity);
        assert.equal(info.consensus, 'tbft');
        assert.equal(info.console, null);
        assert.deepEqual(
          info.nodes.map((n) => [n.name, n.org]),
          ORGS.map((org, i) => [`node${i + 1}`, org]),
        );
        for (const n of info.nodes) {
          assert.match(n.rpc, /^http:\/\/127\.0\.0\.1:\d+$/);
          assert.match(n.p2p, /^127\.0\.0\.1:\d+$/);
        }
      });

      it('issues every certificate from its own org CA only', () => {
        for (const org of ORGS) {
          if (crypto === 'standard') {
            openssl('verify', '-check_ss_sig', '-CAfile', caOf(org), caOf(org));
          } else {
            // -vfyopt does not reach CA self-signatures in OpenSSL 3.0, so check that one here.
            const ca = parseCertificate(certFromPem(readFileSync(caOf(org), 'utf8')));
            assert.ok(verifyCertificate(getProfile('gm'), ca, ca), `${org} CA self-signature`);
          }
        }
        for (const [cert, org] of leaves()) {
          assert.match(verify(caOf(org), cert), /: OK/);
          const other = ORGS[(ORGS.indexOf(org) + 1) % ORGS.length];
          assert.throws(() => verify(caOf(other), cert), `${cert} verified under ${other}`);
        }
      });

      it('puts the role in OU and the org in O', () => {
        for (const org of ORGS) {
          const subject = openssl('x509', '-noout', '-subject', '-in', caOf(org));
          assert.match(subject, new RegExp(`O = ${org}\\b`));
          assert.match(subject, new RegExp(`CN = ca\\.${org}\\b`));
          assert.match(openssl('x509', '-noout', '-text', '-in', caOf(org)), /CA:TRUE/);
        }
        for (const [cert, org, role] of leaves()) {
          const subject = openssl('x509', '-noout', '-subject', '-in', cert);
          assert.match(subject, new RegExp(`OU = ${role}\\b`), subject);
          assert.match(subject, new RegExp(`O = ${org}\\b`), subject);
          assert.match(subject, new RegExp(`CN = [a-z0-9]+\\.${org}\\b`), subject);
          assert.doesNotMatch(openssl('x509', '-noout', '-text', '-in', cert), /CA:TRUE/);
        }
      });

      it('writes private keys that openssl loads, readable by the owner only', () => {
        const keys = ORGS.flatMap((org, i) => [
          join(dir, 'orgs', org, 'ca', 'key.pem'),
          join(dir, 'orgs', org, 'users', 'admin', 'key.pem'),
          join(dir, 'orgs', org, 'users', 'client', 'key.pem'),
          join(dir, 'nodes', `node${i + 1}`, 'node.key.pem'),
        ]);
        for (const key of keys) {
          openssl('pkey', '-in', key, '-noout');
          assert.equal(statSync(key).mode & 0o777, 0o600, key);
        }
      });

      it('writes a genesis that validates and matches the identities', () => {
        const raw = readJson<any>(join(dir, 'genesis.json'));
        const g = validateGenesis(raw);
        assert.equal(g.chainId, 'test-chain');
        assert.equal(g.crypto, crypto);
        assert.equal(g.identityMode, identity);
        assert.equal(g.consensus, 'tbft');
        assert.ok(Math.abs(g.genesisTime - Date.now()) < 10 * 60_000);
        assert.deepEqual(
          g.orgs.map((o) => o.id),
          ORGS,
        );
        ORGS.forEach((org, i) => {
          const o = raw.orgs[i];
          assert.equal(o.caCert, readFileSync(caOf(org), 'utf8'));
          const pub = (user: string): string =>
            readFileSync(join(dir, 'orgs', org, 'users', user, 'public.hex'), 'utf8').trim();
          const nodePub = g.validators[i].publicKey;
          if (identity === 'key') {
            assert.deepEqual(o.keys, [
              { name: 'admin', role: 'admin', publicKey: pub('admin') },
              { name: 'client', role: 'client', publicKey: pub('client') },
              { name: `node${i + 1}`, role: 'consensus', publicKey: nodePub },
            ]);
          } else {
            assert.equal(o.keys, undefined);
          }
          assert.match(pub('admin'), /^04[0-9a-f]{128}$/);
          assert.deepEqual(g.validators[i], {
            name: `node${i + 1}`,
            org,
            publicKey: nodePub,
            power: 10,
          });
          // The validator key is the one in the node's certificate.
          const certPub = openssl(
            'x509',
            '-noout',
            '-pubkey',
            '-in',
            join(dir, 'nodes', `node${i + 1}`, 'node.cert.pem'),
          );
          const keyPub = openssl(
            'pkey',
            '-pubout',
            '-in',
            join(dir, 'nodes', `node${i + 1}`, 'node.key.pem'),
          );
          assert.equal(certPub, keyPub);
          assert.match(nodePub, /^04[0-9a-f]{128}$/);
        });
      });

      it('writes node configs with distinct ports and every other node as a peer', () => {
        const ports: number[] = [];
        info.nodes.forEach((n, i) => {
          const nodeDir = join(dir, 'nodes', n.name);
          const cfg = readJson<NodeConfigFile>(join(nodeDir, 'node.json'));
          assert.equal(cfg.name, n.name);
          assert.equal(cfg.org, ORGS[i]);
          assert.equal(cfg.chainId, 'test-chain');
          assert.equal(cfg.dataDir, 'data');
          assert.equal(cfg.logLevel, 'info');
          for (const p of [cfg.genesis, cfg.key, cfg.cert, cfg.caCerts])
            assert.ok(existsSync(join(nodeDir, p)), p);
          assert.equal(join(nodeDir, cfg.genesis), join(dir, 'genesis.json'));
          assert.equal(join(nodeDir, cfg.caCerts), join(dir, 'orgs'));
          assert.equal(n.rpc, `http://${cfg.rpc.host}:${cfg.rpc.port}`);
          assert.equal(n.p2p, `${cfg.p2p.host}:${cfg.p2p.port}`);
          ports.push(cfg.rpc.port, cfg.p2p.port);
          assert.deepEqual(
            cfg.peers,
            info.nodes
              .filter((p) => p.name !== n.name)
              .map((p) => ({ name: p.name, address: p.p2p })),
          );
        });
        assert.equal(new Set(ports).size, 8);
        for (const p of ports) assert.ok(p > 0 && p < 65536);
      });

      it('refuses a second init into the same dir and leaves it unchanged', async () => {
        const before = snapshot(dir);
        await assert.rejects(
          initNetwork({ dir, orgs: 2, crypto, identity }),
          isArchiError('CONFIG_INVALID', /already holds a network/),
        );
        assert.deepEqual(snapshot(dir), before);
      });
    });
  }
}

for (const crypto of ['standard', 'gm'] as const) {
  describe(`archi init: node TLS identities, ${crypto} crypto`, () => {
    let dir: string;
    const ORGS3 = ['org1', 'org2', 'org3'];
    const tlsCa = (org: string): string => join(dir, 'orgs', org, 'tlsca', 'cert.pem');
    const tlsCert = (i: number): string => join(dir, 'nodes', `node${i + 1}`, 'tls.cert.pem');

    before(async () => {
      dir = join(tempDir(), 'net');
      await initNetwork({ dir, orgs: 3, crypto });
    });

    it('issues P-256 node TLS certificates that openssl verifies under the org TLS CA', () => {
      ORGS3.forEach((org, i) => {
        assert.match(openssl('verify', '-CAfile', tlsCa(org), tlsCert(i)), /: OK/);
        const other = ORGS3[(i + 1) % ORGS3.length];
        assert.throws(() => openssl('verify', '-CAfile', tlsCa(other), tlsCert(i)));
        for (const cert of [tlsCa(org), tlsCert(i)]) {
          const text = openssl('x509', '-noout', '-text', '-in', cert);
          assert.match(text, /Public-Key: \(256 bit\)/);
          assert.match(text, /ASN1 OID: prime256v1/);
          assert.match(text, /NIST CURVE: P-256/);
          assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
        }
        openssl('verify', '-check_ss_sig', '-CAfile', tlsCa(org), tlsCa(org));
      });
    });

    it('names the node in CN and the org in O', () => {
      ORGS3.forEach((org, i) => {
        const ca = openssl('x509', '-noout', '-subject', '-in', tlsCa(org));
        assert.match(ca, new RegExp(`O = ${org}, CN = tlsca\\.${org}$`, 'm'));
        assert.match(openssl('x509', '-noout', '-text', '-in', tlsCa(org)), /CA:TRUE/);
        const leaf = openssl('x509', '-noout', '-subject', '-in', tlsCert(i));
        assert.match(leaf, new RegExp(`O = ${org}, OU = consensus, CN = node${i + 1}$`, 'm'));
        assert.doesNotMatch(openssl('x509', '-noout', '-text', '-in', tlsCert(i)), /CA:TRUE/);
      });
    });

    it('writes TLS keys that match their certificates, readable by the owner only', () => {
      ORGS3.forEach((org, i) => {
        const nodeKey = join(dir, 'nodes', `node${i + 1}`, 'tls.key.pem');
        for (const key of [join(dir, 'orgs', org, 'tlsca', 'key.pem'), nodeKey]) {
          openssl('pkey', '-in', key, '-noout');
          assert.equal(statSync(key).mode & 0o777, 0o600, key);
        }
        assert.equal(
          openssl('pkey', '-pubout', '-in', nodeKey),
          openssl('x509', '-noout', '-pubkey', '-in', tlsCert(i)),
        );
      });
    });

    it('points node.json at the TLS files and every member TLS CA', () => {
      ORGS3.forEach((_org, i) => {
        const nodeDir = join(dir, 'nodes', `node${i + 1}`);
        const cfg = readJson<NodeConfigFile>(join(nodeDir, 'node.json'));
        assert.equal(join(nodeDir, cfg.tls.key), join(nodeDir, 'tls.key.pem'));
        assert.equal(join(nodeDir, cfg.tls.cert), tlsCert(i));
        assert.deepEqual(
          cfg.tls.cas.map((c) => join(nodeDir, c)),
          ORGS3.map(tlsCa),
        );
      });
    });

    it('carries each org TLS CA in genesis', () => {
      const raw = readJson<any>(join(dir, 'genesis.json'));
      const g = validateGenesis(raw);
      ORGS3.forEach((org, i) => {
        assert.equal(raw.orgs[i].tlsCaCert, readFileSync(tlsCa(org), 'utf8'));
        assert.equal(g.orgs[i].tlsCaCert, raw.orgs[i].tlsCaCert);
      });
      assert.throws(
        () => validateGenesis({ ...raw, orgs: [{ ...raw.orgs[0], tlsCaCert: 42 }] }),
        /tlsCaCert/,
      );
    });

    it('gives nodes identities the p2p transport accepts', async () => {
      const nodes = [0, 1].map((i) => {
        const nodeDir = join(dir, 'nodes', `node${i + 1}`);
        const cfg = readJson<NodeConfigFile>(join(nodeDir, 'node.json'));
        const read = (f: string): string => readFileSync(join(nodeDir, f), 'utf8');
        return new P2PNode({
          self: cfg.name,
          listen: cfg.p2p,
          peers: cfg.peers.filter((p) => p.name === 'node1' || p.name === 'node2'),
          tls: { key: read(cfg.tls.key), cert: read(cfg.tls.cert), cas: cfg.tls.cas.map(read) },
          allowed: (name, info) => info.org === `org${name.slice(4)}`,
        });
      });
      try {
        const got = new Promise<string>((ok) =>
          nodes[1].once('message', (p, _c, b) => ok(`${p}:${Buffer.from(b).toString()}`)),
        );
        const up = new Promise<void>((ok) => nodes[0].once('peer:up', () => ok()));
        await Promise.all(nodes.map((n) => n.start()));
        await up;
        assert.equal(nodes[0].send('node2', CONSENSUS, Buffer.from('hi')), true);
        assert.equal(await got, 'node1:hi');
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
      }
    });
  });
}

describe('archi init options', () => {
  it('uses solo for one org and lays ports out from --base-port', async () => {
    const dir = join(tempDir(), 'solo');
    const info = await initNetwork({ dir, orgs: 1, basePort: 31000 });
    assert.equal(info.consensus, 'solo');
    assert.equal(info.chain, 'archipelago-local');
    assert.equal(info.crypto, 'standard');
    assert.equal(info.identityMode, 'cert');
    assert.deepEqual(info.nodes, [
      { name: 'node1', org: 'org1', rpc: 'http://127.0.0.1:31000', p2p: '127.0.0.1:31001' },
    ]);
    assert.deepEqual(readJson<NodeConfigFile>(join(dir, 'nodes', 'node1', 'node.json')).peers, []);
    validateGenesis(readJson(join(dir, 'genesis.json')));
  });

  it('gives node i ports base+2(i-1) and base+2(i-1)+1', async () => {
    const info = await initNetwork({ dir: join(tempDir(), 'ports'), orgs: 3, basePort: 32000 });
    assert.equal(info.consensus, 'tbft');
    assert.deepEqual(
      info.nodes.map((n) => [n.rpc, n.p2p]),
      [
        ['http://127.0.0.1:32000', '127.0.0.1:32001'],
        ['http://127.0.0.1:32002', '127.0.0.1:32003'],
        ['http://127.0.0.1:32004', '127.0.0.1:32005'],
      ],
    );
  });

  const bad: Array<[string, Partial<InitOptions>, RegExp]> = [
    ['zero orgs', { orgs: 0 }, /orgs/],
    ['too many orgs', { orgs: 17 }, /orgs/],
    ['fractional orgs', { orgs: 1.5 }, /orgs/],
    ['non-numeric orgs', { orgs: Number.NaN }, /orgs/],
    ['bad chain name', { chain: 'my chain!' }, /chain name/],
    ['empty chain name', { chain: '' }, /chain name/],
    ['unknown crypto', { crypto: 'rsa' as any }, /crypto/],
    ['unknown consensus', { consensus: 'pow' as any }, /consensus/],
    ['unknown identity', { identity: 'oauth' as any }, /identity/],
    ['solo with several orgs', { orgs: 4, consensus: 'solo' }, /solo/],
    ['base port too low', { basePort: 80 }, /base port/],
    ['base port runs past 65535', { orgs: 4, basePort: 65530 }, /base port/],
    ['bad host', { host: 'not a host' }, /host/],
    ['zero validity', { validityDays: 0 }, /validity/],
    ['empty dir', { dir: '' }, /--dir/],
  ];
  for (const [what, opts, msg] of bad) {
    it(`refuses ${what} and writes nothing`, async () => {
      const parent = tempDir();
      const dir = join(parent, 'net');
      await assert.rejects(initNetwork({ dir, ...opts }), isArchiError('CONFIG_INVALID', msg));
      assert.deepEqual(readdirSync(parent), []);
    });
  }

  it('refuses a dir holding parts of a network', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'orgs'));
    await assert.rejects(initNetwork({ dir, orgs: 1 }), isArchiError('CONFIG_INVALID', /orgs/));
    assert.deepEqual(readdirSync(dir), ['orgs']);
  });

  it('refuses a dir path that is a file', async () => {
    const file = join(tempDir(), 'f');
    writeFileSync(file, 'x');
    await assert.rejects(
      initNetwork({ dir: file, orgs: 1 }),
      isArchiError('CONFIG_INVALID', /not a directory/),
    );
  });

  it('accepts an existing dir with unrelated files', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'README'), 'mine');
    await initNetwork({ dir, orgs: 1 });
    assert.deepEqual(readdirSync(dir).sort(), [
      'README',
      'genesis.json',
      'network.json',
      'nodes',
      'orgs',
    ]);
  });
});

describe('archi init command', () => {
  // Output goes through commander's writeOut; patching process.stdout would eat the
  // test runner's own reports.
  async function run(args: string[]): Promise<string> {
    const out: string[] = [];
    const p = new Command('archi')
      .exitOverride()
      .configureOutput({ writeOut: (s) => out.push(s), writeErr: () => {} });
    register(p);
    await p.parseAsync(['init', ...args], { from: 'user' });
    return out.join('');
  }

  it('prints the network as JSON with --json', async () => {
    const dir = join(tempDir(), 'net');
    const out = await run([
      '--dir',
      dir,
      '--orgs',
      '2',
      '--crypto',
      'gm',
      '--identity',
      'key',
      '--chain',
      'c1',
      '--json',
    ]);
    const info = JSON.parse(out) as NetworkInfo;
    assert.deepEqual(info, readJson(join(dir, 'network.json')));
    assert.equal(info.crypto, 'gm');
    assert.equal(info.identityMode, 'key');
    assert.equal(info.consensus, 'tbft');
    assert.equal(info.chain, 'c1');
    assert.equal(info.nodes.length, 2);
  });

  it('prints a human summary by default', async () => {
    const dir = join(tempDir(), 'net');
    const out = await run(['--dir', dir, '--orgs', '1', '--base-port', '33000']);
    assert.match(out, /Initialized chain archipelago-local/);
    assert.match(out, /node1 +org1 +rpc http:\/\/127\.0\.0\.1:33000 +p2p 127\.0\.0\.1:33001/);
    assert.match(out, /archi node start --config .*node1\/node\.json/);
  });

  for (const [flag, value] of [
    ['--orgs', 'abc'],
    ['--orgs', '0'],
    ['--orgs', '4x'],
    ['--orgs', '17'],
    ['--orgs', '-1'],
    ['--orgs', ''],
    ['--base-port', '99999'],
    ['--base-port', '30000.5'],
  ]) {
    it(`rejects ${flag} ${JSON.stringify(value)} as INVALID_ARGS`, async () => {
      const parent = tempDir();
      await assert.rejects(
        run(['--dir', join(parent, 'net'), flag, value]),
        isArchiError('INVALID_ARGS', new RegExp(flag)),
      );
      assert.deepEqual(readdirSync(parent), []);
    });
  }

  for (const [flag, value] of [
    ['--crypto', 'rsa'],
    ['--consensus', 'pow'],
    ['--identity', 'oauth'],
  ]) {
    it(`rejects ${flag} ${value} as not one of the choices`, async () => {
      await assert.rejects(run(['--dir', join(tempDir(), 'net'), flag, value]), (e: unknown) => {
        assert.ok(e instanceof CommanderError);
        assert.equal(e.code, 'commander.invalidArgument');
        return true;
      });
    });
  }

  it('requires --dir', async () => {
    await assert.rejects(
      run([]),
      (e: unknown) => e instanceof CommanderError && /--dir/.test(e.message),
    );
  });

  it('refuses solo with several orgs', async () => {
    await assert.rejects(
      run(['--dir', join(tempDir(), 'net'), '--orgs', '3', '--consensus', 'solo']),
      isArchiError('CONFIG_INVALID', /solo/),
    );
  });
});
