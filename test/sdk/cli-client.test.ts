import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { cliOutput } from '../../src/cli/client-context.ts';
import { register as registerBench } from '../../src/cli/commands/bench.ts';
import { register as registerClient } from '../../src/cli/commands/client.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { hex } from '../../src/types/hex.ts';
import { parseJsonBytes } from '../../src/types/json.ts';
import { decodeTx } from '../../src/types/tx.ts';
import { PROFILES, proofFixture, tempDir, writeUser } from './fixtures.ts';

interface Run {
  out: string;
  error?: unknown;
}

/** Run the client commands in-process, capturing stdout; errors are returned, not thrown. */
async function run(args: string[]): Promise<Run> {
  const program = new Command('archi')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  registerClient(program);
  registerBench(program);
  let out = '';
  const write = cliOutput.write;
  cliOutput.write = (text: string) => {
    out += text;
  };
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out };
  } catch (error) {
    return { out, error };
  } finally {
    cliOutput.write = write;
  }
}

function assertCode(r: Run, code: string, pattern?: RegExp): void {
  assert.ok(r.error instanceof ArchiError, `expected ArchiError ${code}, got ${r.error}`);
  assert.equal(r.error.code, code);
  if (pattern) assert.match(r.error.message, pattern);
}

type Handler = (body: Buffer, url: string) => { status: number; body: unknown };

/** A fake node serving canned answers per "METHOD /path". */
async function fakeNode(
  routes: Map<string, Handler>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = req.url!.split('?')[0];
      const h = routes.get(`${req.method} ${path}`);
      const a = h
        ? h(Buffer.concat(chunks), req.url!)
        : { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route ${path}` } } };
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const root = tempDir('archi-cli-');
after(() => rmSync(root, { recursive: true, force: true }));

describe('client commands: offline checks', () => {
  const dir = join(root, 'offline');
  before(() => {
    writeUser(getProfile('standard'), dir, 'org1', 'admin');
    writeFileSync(
      join(dir, 'network.json'),
      JSON.stringify({
        chain: 'c',
        crypto: 'standard',
        identityMode: 'cert',
        nodes: [{ name: 'node1', org: 'org1', rpc: 'http://127.0.0.1:1', p2p: '127.0.0.1:2' }],
        console: null,
      }),
    );
  });

  it('rejects invalid JSON args before sending anything', async () => {
    const r = await run([
      'tx',
      'send',
      '--dir',
      dir,
      '--contract',
      'kv',
      '--method',
      'put',
      '--args',
      '{nope',
    ]);
    assertCode(r, 'INVALID_ARGS', /--args/);
  });

  it('parses --as strictly and names the known identities', async () => {
    for (const as of ['org1', 'org1/admin/x', '/admin', 'org1/', 'org 1/admin', '../x/admin']) {
      const r = await run([
        'tx',
        'send',
        '--dir',
        dir,
        '--contract',
        'kv',
        '--method',
        'put',
        '--as',
        as,
      ]);
      assertCode(r, 'INVALID_ARGS', /ORG\/USER/);
    }
    const r = await run([
      'tx',
      'send',
      '--dir',
      dir,
      '--contract',
      'kv',
      '--method',
      'put',
      '--as',
      'org1/bob',
    ]);
    assertCode(r, 'INVALID_ARGS', /org1\/bob.*known: org1\/admin/);
  });

  it('explains a missing network directory', async () => {
    const r = await run(['status', '--dir', join(root, 'nowhere')]);
    assertCode(r, 'BAD_REQUEST', /network\.json.*--rpc/);
  });

  it('checks tx ids and heights', async () => {
    assertCode(await run(['tx', 'get', 'xyz', '--dir', dir]), 'INVALID_ARGS');
    assertCode(await run(['block', 'get', '-1', '--dir', dir]), 'INVALID_ARGS');
    assertCode(await run(['block', 'get', 'soon', '--dir', dir]), 'INVALID_ARGS');
  });

  it('reports unreachable nodes clearly', async () => {
    const r = await run(['block', 'get', 'latest', '--dir', dir]);
    assertCode(r, 'NOT_READY', /127\.0\.0\.1:1/);
  });

  it('rejects an unknown --node', async () => {
    assertCode(
      await run(['status', '--dir', dir, '--node', 'node9']),
      'BAD_REQUEST',
      /node9.*node1/,
    );
  });
});

describe('archi status: peers connected of total, admission, no answer', () => {
  const dir = join(root, 'status');
  const statuses = new Map<string, Record<string, unknown>>();
  const servers: Array<{ url: string; close(): Promise<void> }> = [];
  const peers = (self: string, up: string[]) =>
    ['node1', 'node2', 'node3', 'node4']
      .filter((n) => n !== self)
      .map((name) => ({ name, connected: up.includes(name) }));
  const statusOf = (node: string, extra: Record<string, unknown>) => ({
    chainId: 'chain-s',
    node,
    org: node.replace('node', 'org'),
    height: 7,
    hash: 'aa'.repeat(32),
    stateRoot: 'bb'.repeat(32),
    crypto: 'standard',
    identityMode: 'cert',
    validator: true,
    round: 0,
    admission: 'member',
    ...extra,
  });

  before(async () => {
    const rpcs: Record<string, string> = { node3: 'http://127.0.0.1:1' };
    for (const name of ['node1', 'node2', 'node4']) {
      const server = await fakeNode(
        new Map([['GET /v1/status', () => ({ status: 200, body: statuses.get(name) })]]),
      );
      servers.push(server);
      rpcs[name] = server.url;
    }
    writeUser(getProfile('standard'), dir, 'org1', 'admin');
    writeFileSync(
      join(dir, 'network.json'),
      JSON.stringify({
        chain: 'chain-s',
        crypto: 'standard',
        identityMode: 'cert',
        nodes: ['node1', 'node2', 'node3', 'node4'].map((name) => ({
          name,
          org: name.replace('node', 'org'),
          rpc: rpcs[name],
        })),
        console: null,
      }),
    );
  });
  after(() => Promise.all(servers.map((x) => x.close())));

  it('counts connected peers of all, names the node that does not answer and the one waiting for admission', async () => {
    statuses.set('node1', statusOf('node1', { peers: peers('node1', ['node2']) }));
    statuses.set('node2', statusOf('node2', { peers: peers('node2', ['node1']) }));
    statuses.set(
      'node4',
      statusOf('node4', {
        height: 0,
        validator: false,
        admission: 'waiting',
        peers: peers('node4', []),
      }),
    );
    const r = await run(['status', '--dir', dir]);
    assert.equal(r.error, undefined);
    const line = (name: string) => r.out.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    assert.match(line('node1'), / up +7 .* 1\/3 +yes$/);
    assert.match(line('node2'), / up +7 .* 1\/3 +yes$/);
    assert.match(line('node3'), / DOWN /);
    assert.match(line('node4'), / waiting for admission +0 .* 0\/3 +no$/);
    assert.match(r.out, /^node3 does not answer: /m);
    assert.match(
      r.out,
      /^node4 is waiting for admission: not yet a member of chain chain-s; a governance vote must admit org4\/node4 \(see docs\/GOVERNANCE\.md\)$/m,
    );
    // Links to node3 and node4 are explained by the lines above; no other link is down.
    assert.doesNotMatch(r.out, /has no link/);
    assert.match(r.out, /^3 of 4 nodes answer$/m);

    const j = await run(['status', '--dir', dir, '--json']);
    const out = JSON.parse(j.out);
    assert.equal(out.answering, 3);
    assert.equal(out.total, 4);
    assert.deepEqual(
      out.nodes.map((n: any) => [n.name, n.up, n.peersConnected, n.admission]),
      [
        ['node1', true, 1, 'member'],
        ['node2', true, 1, 'member'],
        ['node3', false, null, null],
        ['node4', true, 0, 'waiting'],
      ],
    );
  });

  it('names a link that is down between two nodes that answer, and an admitted node still syncing', async () => {
    statuses.set('node1', statusOf('node1', { peers: peers('node1', ['node4']) }));
    statuses.set('node2', statusOf('node2', { peers: peers('node2', ['node4']) }));
    statuses.set(
      'node4',
      statusOf('node4', {
        height: 3,
        admission: 'waiting',
        peers: peers('node4', ['node1', 'node2']),
      }),
    );
    const r = await run(['status', '--dir', dir]);
    assert.equal(r.error, undefined);
    assert.match(r.out, /^node1 has no link to node2$/m);
    assert.match(r.out, /^node2 has no link to node1$/m);
    assert.match(r.out, /^node4 .* admitted, syncing +3 /m);
    assert.match(
      r.out,
      /^node4 is admitted \(members accept its links\) and syncing: at height 3/m,
    );
  });

  it('fails with NOT_READY when no node answers, after printing the table', async () => {
    const down = join(root, 'offline');
    const r = await run(['status', '--dir', down]);
    assertCode(r, 'NOT_READY', /no node of .* answers; is the network up\?/);
    assert.match(r.out, /^node1 .*DOWN/m);
    const j = await run(['status', '--dir', down, '--json']);
    assertCode(j, 'NOT_READY');
    assert.equal(JSON.parse(j.out).answering, 0);
  });
});

for (const crypto of PROFILES) {
  describe(`client commands against a fake node (${crypto})`, () => {
    const dir = join(root, `net-${crypto}`);
    const profile = getProfile(crypto);
    const routes = new Map<string, Handler>();
    let node: { url: string; close(): Promise<void> };
    let user: ReturnType<typeof writeUser>;

    before(async () => {
      node = await fakeNode(routes);
      user = writeUser(profile, dir, 'org1', 'admin');
      writeFileSync(
        join(dir, 'network.json'),
        JSON.stringify({
          chain: 'chain-t',
          crypto,
          identityMode: 'cert',
          nodes: [
            { name: 'node1', org: 'org1', rpc: node.url, p2p: 'x' },
            { name: 'node2', org: 'org2', rpc: 'http://127.0.0.1:1', p2p: 'y' },
          ],
          console: null,
        }),
      );
      routes.set('GET /v1/status', () => ({
        status: 200,
        body: {
          chainId: 'chain-t',
          node: 'node1',
          org: 'org1',
          height: 12,
          hash: 'aa'.repeat(32),
          stateRoot: 'bb'.repeat(32),
          crypto,
          identityMode: 'cert',
          validator: true,
          round: 0,
          peers: [],
        },
      }));
    });
    after(() => node.close());

    it('status lists every node, a down one as up:false', async () => {
      const r = await run(['status', '--dir', dir, '--json']);
      assert.equal(r.error, undefined);
      const { nodes } = JSON.parse(r.out);
      assert.equal(nodes.length, 2);
      assert.deepEqual(
        { ...nodes[0], rpc: undefined },
        {
          name: 'node1',
          org: 'org1',
          rpc: undefined,
          up: true,
          height: 12,
          hash: 'aa'.repeat(32),
          stateRoot: 'bb'.repeat(32),
          round: 0,
          peers: [],
          peersConnected: 0,
          validator: true,
          admission: 'member',
          chainId: 'chain-t',
          // The fake node's status names no chains (a node older than the field).
          chains: null,
        },
      );
      assert.equal(nodes[1].up, false);
      assert.equal(nodes[1].height, null);
      const human = await run(['status', '--dir', dir]);
      assert.match(human.out, /node1 .* up +12 /);
      assert.match(human.out, /node2 .*DOWN/);
      assert.match(human.out, /^node2 does not answer: .*127\.0\.0\.1:1/m);
      assert.match(human.out, /^1 of 2 nodes answer$/m);
    });

    it('status --rpc queries just that node', async () => {
      const r = await run(['status', '--rpc', node.url, '--json', '--dir', join(root, 'nowhere')]);
      assert.equal(r.error, undefined);
      assert.equal(JSON.parse(r.out).nodes.length, 1);
    });

    it('tx send signs as the chosen identity and prints the tx id', async () => {
      let sent: ReturnType<typeof decodeTx> | undefined;
      routes.set('POST /v1/txs', (body) => {
        sent = decodeTx(profile, new Uint8Array(body));
        return { status: 202, body: { txId: sent.txIdHex } };
      });
      const r = await run([
        'tx',
        'send',
        '--dir',
        dir,
        '--contract',
        'kv',
        '--method',
        'put',
        '--args',
        '{"key":"a","value":1}',
      ]);
      assert.equal(r.error, undefined);
      assert.ok(sent);
      assert.equal(r.out.trim(), sent.txIdHex);
      assert.equal(sent.payload.chainId, 'chain-t');
      assert.deepEqual(parseJsonBytes(sent.payload.args), { key: 'a', value: 1 });
      assert.equal(hex(sent.payload.sender!.cert), hex(user.certDer));
      assert.ok(profile.verify(user.publicKey, sent.tx.payload, sent.tx.signature));
    });

    it('tx send --wait prints the receipt and fails on a failed receipt', async () => {
      let status: 'ok' | 'error' = 'ok';
      routes.set('POST /v1/txs', (body, url) => {
        assert.match(url, /wait=true/);
        const t = decodeTx(profile, new Uint8Array(body));
        return {
          status: 200,
          body: {
            txId: t.txIdHex,
            height: 13,
            receipt: {
              txId: t.txIdHex,
              status,
              code: status === 'ok' ? '' : 'INSUFFICIENT_BALANCE',
              message: status === 'ok' ? '' : 'balance 0 is less than 5',
              gasUsed: 42,
              result: null,
              events: [{ contract: 'kv', name: 'put', data: { key: 'a' } }],
            },
          },
        };
      });
      const args = [
        'tx',
        'send',
        '--dir',
        dir,
        '--contract',
        'kv',
        '--method',
        'put',
        '--wait',
        '--json',
      ];
      const ok = await run(args);
      assert.equal(ok.error, undefined);
      const receipt = JSON.parse(ok.out);
      assert.deepEqual(Object.keys(receipt).sort(), [
        'code',
        'events',
        'gasUsed',
        'height',
        'message',
        'result',
        'status',
        'txId',
      ]);
      assert.equal(receipt.height, 13);
      status = 'error';
      const bad = await run(args);
      assert.equal(JSON.parse(bad.out).status, 'error');
      assertCode(bad, 'INSUFFICIENT_BALANCE', /balance 0/);
    });

    it('tx get and block get print JSON with the documented fields', async () => {
      const txId = 'cd'.repeat(32);
      routes.set(`GET /v1/txs/${txId}`, () => ({
        status: 200,
        body: {
          txId,
          height: 3,
          index: 0,
          chainId: 'chain-t',
          contract: 'kv',
          method: 'put',
          args: '{}',
          sender: { org: 'org1' },
          timestamp: 1,
          receipt: {
            txId,
            status: 'ok',
            code: '',
            message: '',
            gasUsed: 1,
            result: null,
            events: [],
          },
        },
      }));
      const t = await run(['tx', 'get', txId.toUpperCase(), '--dir', dir, '--json']);
      assert.equal(t.error, undefined);
      assert.equal(JSON.parse(t.out).height, 3);
      assert.match((await run(['tx', 'get', txId, '--dir', dir])).out, /kv\.put/);

      const fx = proofFixture(crypto, 3);
      routes.set('GET /v1/blocks/3', () => ({ status: 200, body: fx.block }));
      const b = await run(['block', 'get', '3', '--dir', dir, '--json']);
      assert.equal(b.error, undefined);
      const j = JSON.parse(b.out);
      assert.equal(j.height, 3);
      assert.equal(j.hash, fx.block.hash);
      assert.equal(j.stateRoot, fx.stateRoot);
      assert.equal(j.headerBytes, fx.block.headerBytes);
      assert.match((await run(['block', 'get', '3', '--dir', dir])).out, /stateRoot: /);
    });

    it('query --prove verifies the proof, and fails on a bad one', async () => {
      const fx = proofFixture(crypto, 5);
      let tamper = false;
      routes.set('POST /v1/query', (body) => {
        const q = JSON.parse(body.toString());
        const reads = structuredClone(fx.reads);
        if (tamper) reads[0].value = '00';
        return {
          status: 200,
          body: {
            result: { asked: q.args },
            height: 5,
            stateRoot: fx.stateRoot,
            ...(q.prove ? { proof: { height: 5, stateRoot: fx.stateRoot, reads } } : {}),
          },
        };
      });
      routes.set('GET /v1/blocks/5', () => ({ status: 200, body: fx.block }));
      const args = [
        'query',
        '--dir',
        dir,
        '--contract',
        'kv',
        '--method',
        'get',
        '--args',
        '{"key":"a"}',
      ];
      const plain = await run([...args, '--json']);
      assert.equal(plain.error, undefined);
      assert.equal(JSON.parse(plain.out).verified, undefined);
      const proved = await run([...args, '--prove', '--json']);
      assert.equal(proved.error, undefined);
      const j = JSON.parse(proved.out);
      assert.equal(j.verified, true);
      assert.deepEqual(j.result, { asked: { key: 'a' } });
      assert.match((await run([...args, '--prove'])).out, /verified: true/);
      tamper = true;
      assertCode(await run([...args, '--prove']), 'PROOF_INVALID');
    });
  });
}
