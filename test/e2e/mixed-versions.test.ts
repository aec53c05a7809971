/**
 * A 4-node BFT network whose nodes run under different Node versions and native stack sizes
 * receives a seeded stream of hostile txs (nesting at and around every limit, wide arrays,
 * huge strings, unicode edge cases, big numbers, hostile contract code) mixed with normal
 * ones. Every node must commit the same block hashes (and so the same state and receipts)
 * at every height. A failure names its seed; `MIXED_SEED=n` replays the same stream.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Identity } from '../../src/sdk/identity.ts';
import { JSON_LIMITS, utf8Bytes } from '../../src/types/json.ts';
import { buildTx } from '../../src/types/tx.ts';
import { buildContract } from '../../src/vm/sandbox/build.ts';
import { ARCHI, removeDir, Running, tempDir } from './harness.ts';
import { initNetwork, type NetNode, sameChain, status, waitHeight } from './network.ts';
import { newerNode, thisNode } from './node-binaries.ts';
import { prng } from '../prng.ts';

const SEED = Number(process.env.MIXED_SEED ?? Math.floor(Math.random() * 2 ** 31));
const D = JSON_LIMITS.depth;
const newer = newerNode();

/**
 * JSON text nested `n` deep, mixing arrays and objects as the seed says (arrays only past
 * 1000 levels, so the deepest documents still fit in a tx and reach the depth check).
 */
function nested(n: number, rand: () => number): string {
  const opens: string[] = [];
  const closes: string[] = [];
  for (let i = 0; i < n; i++) {
    if (n > 1000 || rand() < 0.5) {
      opens.push('[');
      closes.push(']');
    } else {
      opens.push('{"k":');
      closes.push('}');
    }
  }
  return `${opens.join('')}0${closes.reverse().join('')}`;
}

interface Planned {
  what: string;
  contract: string;
  method: string;
  /** Raw args bytes, signed as given. */
  args: Uint8Array;
  admin?: boolean;
}

/** The seeded stream: hostile and normal txs in a seeded order. */
function plan(seed: number): Planned[] {
  const rand = prng(seed);
  const text = (s: string) => utf8Bytes(s);
  const kv = (what: string, value: string): Planned => ({
    what,
    contract: 'kv',
    method: 'put',
    args: text(`{"key":${JSON.stringify(`k${Math.floor(rand() * 1e6)}`)},"value":${value}}`),
  });
  const out: Planned[] = [];
  // Nesting at and around the limit (the args object adds one level), and far past it.
  for (const n of [D - 2, D - 1, D, D + 1, 100, 1000, 5000, 20_000]) {
    out.push(kv(`kv depth ${n + 1}`, nested(n, rand)));
  }
  // Wide: many elements, up to and past the tx size limit.
  for (const k of [1000, 15_000, 40_000]) out.push(kv(`kv ${k} elements`, `[${'0,'.repeat(k)}0]`));
  out.push(
    kv('kv wide object', `{${Array.from({ length: 3000 }, (_, i) => `"f${i}":[]`).join(',')}}`),
  );
  // Huge strings.
  for (const l of [1000, 60_000, 70_000])
    out.push(kv(`kv string ${l}`, JSON.stringify('x'.repeat(l))));
  // Unicode edge cases: lone surrogates, NUL, line separators, astral, a BOM, invalid UTF-8.
  for (const s of [
    '"\\ud800"',
    '"\\udc00\\ud800"',
    '"\\u0000"',
    '"\u2028\u2029"',
    '"é😀"',
    '"\\"\\\\"',
  ]) {
    out.push(kv(`kv unicode ${s}`, s));
  }
  out.push({
    ...kv('kv BOM', '1'),
    args: new Uint8Array([0xef, 0xbb, 0xbf, ...text('{"key":"b","value":1}')]),
  });
  out.push({
    ...kv('kv invalid UTF-8', '1'),
    args: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  });
  out.push({
    what: 'kv key unicode',
    contract: 'kv',
    method: 'put',
    args: text('{"key":"ключ😀","value":1}'),
  });
  // Numbers and bigints.
  const mint = (amount: string): Planned => ({
    what: `mint ${amount.slice(0, 20)}`,
    contract: 'token',
    method: 'mint',
    args: text(`{"to":"${'ab'.repeat(20)}","amount":${amount}}`),
    admin: true,
  });
  for (const a of [
    `"1${'0'.repeat(77)}"`,
    `"1${'0'.repeat(78)}"`,
    '1e308',
    '-0',
    '9007199254740993',
    '"007"',
    '1.5',
  ]) {
    out.push(mint(a));
  }
  out.push(kv('kv numbers', '[1e308,-1e-308,-0,0.1,123456789012345678901234567890]'));
  // Hostile contract code.
  for (const m of [
    'recurse',
    'deepJson',
    'objectBomb',
    'hugeReturn',
    'hugeEvent',
    'manyEvents',
    'hugeValue',
    'pollute',
    'checkClean',
    'memoryBombCaught',
  ]) {
    out.push({ what: `hostile.${m}`, contract: 'hostile', method: m, args: text('null') });
  }
  out.push({ what: 'hostile.loop', contract: 'hostile', method: 'loop', args: text('null') });
  for (const m of ['ret', 'emit', 'store', 'callNative']) {
    for (const n of [D - 1, D, D + 1, 3000]) {
      out.push({ what: `deep.${m} ${n}`, contract: 'deep', method: m, args: text(`{"n":${n}}`) });
    }
  }
  out.push({
    what: 'deep.echo at limit',
    contract: 'deep',
    method: 'echo',
    args: text(nested(D, rand)),
  });
  // Normal traffic between the hostile txs.
  const normal = Array.from(
    { length: 40 },
    (_, i): Planned =>
      i % 2
        ? kv('kv normal', String(Math.floor(rand() * 1000)))
        : {
            what: 'counter',
            contract: 'counter',
            method: 'increment',
            args: text(`{"by":${1 + (i % 5)}}`),
          },
  );
  out.push(...normal);
  // Seeded shuffle (Fisher-Yates).
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe(`mixed Node versions and stack sizes (seed ${SEED})`, {
  skip: !newer
    ? 'no newer Node LTS binary installed on this platform (see test/e2e/node-binaries.ts)'
    : newer.version === thisNode().version
      ? `the suite already runs under ${newer.version}: the mix runs in the run under the older Node`
      : false,
}, () => {
  let dir: string;
  let nodes: NetNode[];
  const procs: Running[] = [];
  // node1/node2 on this Node, node3/node4 on the newer LTS; two of them with odd stacks.
  const runtimes = () => [
    { bin: thisNode().path, flags: [] as string[] },
    { bin: thisNode().path, flags: ['--stack-size=3900'] },
    { bin: newer!.path, flags: ['--stack-size=400'] },
    { bin: newer!.path, flags: [] as string[] },
  ];

  before(async () => {
    dir = tempDir('archi-mixed-');
    nodes = await initNetwork(dir, 4);
    const rt = runtimes();
    await Promise.all(
      nodes.map(async (n, i) => {
        const p = new Running(
          spawn(rt[i].bin, [...rt[i].flags, ARCHI, 'node', 'start', '--config', n.config], {
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        );
        procs.push(p);
        n.proc = p;
        await p.waitFor(new RegExp(`${n.name} rpc`), 90_000);
      }),
    );
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    removeDir(dir);
  });

  test('every node commits the same blocks, state and receipts', async (t) => {
    const t0 = Date.now();
    const phase = (what: string) => t.diagnostic(`${what} after ${Date.now() - t0} ms`);
    // Each node really runs under the binary it was given.
    const rt = runtimes();
    nodes.forEach((n, i) => {
      const exe = readlinkSync(`/proc/${n.proc?.child.pid}/exe`);
      assert.equal(exe, realpathSync(rt[i].bin), `${n.name} runs ${exe}`);
    });
    const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8'));
    const user = (org: string, name: string) =>
      Identity.fromUserDir(genesis.crypto, org, join(dir, 'orgs', org, 'users', name));
    const admin = user('org1', 'admin');
    const client = user('org2', 'client');
    const rand = prng(SEED ^ 0x5eed);
    const submit = async (node: NetNode, bytes: Uint8Array, wait: boolean) => {
      const r = await fetch(`${node.rpc}/v1/txs${wait ? '?wait=true&timeoutMs=60000' : ''}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      return { status: r.status, body: (await r.json()) as any };
    };
    const sign = (who: Identity, contract: string, method: string, args: Uint8Array) =>
      buildTx(who.profile, who.signer, {
        chainId: genesis.chainId,
        sender: who.sender,
        contract,
        method,
        argsBytes: args,
      });
    for (const [name, file] of [
      ['hostile', 'test/vm/fixtures/hostile.ts'],
      ['deep', 'test/vm/fixtures/deep.ts'],
      ['counter', 'contracts/counter.ts'],
    ]) {
      const { code } = await buildContract(file);
      const tx = sign(
        admin,
        'contract_manage',
        'deploy',
        utf8Bytes(JSON.stringify({ name, code })),
      );
      const r = await submit(nodes[0], tx.bytes, true);
      assert.equal(
        r.body.receipt?.status,
        'ok',
        `seed ${SEED}: deploy ${name}: ${JSON.stringify(r.body)}`,
      );
    }

    phase('contracts deployed');
    const stream = plan(SEED);
    const admitted: Array<{ id: string; what: string }> = [];
    const refused = new Map<string, string>();
    // Signed and routed in stream order (seeded); sent 8 at a time so the stream overlaps blocks.
    const signed = stream.map((p) => ({
      p,
      tx: sign(p.admin ? admin : client, p.contract, p.method, p.args),
      node: nodes[Math.floor(rand() * nodes.length)],
    }));
    const one = async ({ p, tx, node }: (typeof signed)[number]) => {
      const r = await submit(node, tx.bytes, false);
      if (r.status < 300) {
        admitted.push({ id: tx.txIdHex, what: p.what });
        return;
      }
      refused.set(p.what, r.body.error?.code);
      // Admission is part of the contract with clients: every node refuses the same way.
      for (const other of nodes) {
        if (other === node) continue;
        const again = await submit(other, tx.bytes, false);
        assert.equal(
          again.body.error?.code,
          r.body.error?.code,
          `seed ${SEED}: ${p.what} on ${other.name}`,
        );
      }
    };
    for (let i = 0; i < signed.length; i += 8) await Promise.all(signed.slice(i, i + 8).map(one));
    assert.equal(refused.get(`kv depth ${D + 1}`), 'ARGS_TOO_DEEP', `seed ${SEED}`);
    assert.equal(refused.get('kv depth 20001'), 'ARGS_TOO_DEEP', `seed ${SEED}`);
    assert.equal(refused.get('kv invalid UTF-8'), 'INVALID_ARGS', `seed ${SEED}`);
    assert.equal(refused.get('kv string 70000'), 'TX_TOO_LARGE', `seed ${SEED}`);

    phase(`${admitted.length} txs admitted, ${refused.size} refused alike by all nodes`);
    // Wait for every admitted tx on one node, then compare every height on all four.
    const receipts = new Map<string, any>();
    const deadline = Date.now() + 180_000;
    for (const a of admitted) {
      for (;;) {
        const r = await fetch(`${nodes[0].rpc}/v1/txs/${a.id}`);
        if (r.status === 200) {
          receipts.set(a.what, ((await r.json()) as any).receipt);
          break;
        }
        assert.ok(Date.now() < deadline, `seed ${SEED}: ${a.what} (${a.id}) never committed`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    assert.equal(receipts.get(`kv depth ${D}`)?.status, 'ok', `seed ${SEED}`);
    assert.equal(receipts.get(`deep.ret ${D}`)?.status, 'ok', `seed ${SEED}`);
    assert.equal(receipts.get(`deep.ret ${D + 1}`)?.code, 'VALUE_TOO_DEEP', `seed ${SEED}`);
    assert.equal(receipts.get(`deep.store ${D + 1}`)?.code, 'VALUE_TOO_DEEP', `seed ${SEED}`);
    assert.equal(receipts.get('hostile.recurse')?.code, 'STACK_OVERFLOW', `seed ${SEED}`);
    phase('all admitted txs committed');
    // A query 100,000 levels deep is refused the same way by every node, not answered 500.
    const deepQuery = `{"contract":"kv","method":"get","args":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    for (const n of nodes) {
      const r = await fetch(`${n.rpc}/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: deepQuery,
      });
      assert.equal(r.status, 400, `${n.name}`);
      assert.equal(((await r.json()) as any).error?.code, 'ARGS_TOO_DEEP', `${n.name}`);
    }
    const top = Math.max(...(await Promise.all(nodes.map(async (n) => (await status(n)).height))));
    await Promise.all(nodes.map((n) => waitHeight(n, top, 120_000)));
    try {
      await sameChain(nodes, top);
    } catch (e) {
      throw new Error(`seed ${SEED}: ${(e as Error).message}`);
    }
    for (const n of nodes) {
      assert.equal(n.proc?.child.exitCode, null, `seed ${SEED}: ${n.name} exited`);
      assert.doesNotMatch(
        `${n.proc?.out}${n.proc?.err}`,
        /state root mismatch|BLOCK_INVALID/,
        `seed ${SEED}: ${n.name}`,
      );
    }
  });
});
