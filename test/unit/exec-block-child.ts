/**
 * Child process of json-limits-exec.test.ts: executes given blocks of given txs on a fresh
 * chain (admission bypassed, as a byzantine proposer would) and prints every block's roots
 * and receipt codes, so runs under different stack sizes and Node versions can be compared.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitSchema, create } from '../../src/codec/index.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { buildChain } from '../../src/node/build-chain.ts';
import { ChainStore } from '../../src/storage/chain-store.ts';
import type { Genesis } from '../../src/types/genesis.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { decodeTx } from '../../src/types/tx.ts';
import { closeSandbox, initSandbox } from '../../src/vm/sandbox/host.ts';

interface Input {
  genesis: Genesis;
  blocks: Array<{ time: number; txs: string[] }>;
}

const input = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Input;
const profile = getProfile(input.genesis.crypto as 'standard' | 'gm');
const dir = mkdtempSync(join(tmpdir(), 'archi-child-'));
await initSandbox();
const chain = buildChain({ profile, store: ChainStore.open(dir), genesis: input.genesis });
const out = [];
for (const b of input.blocks) {
  for (const t of b.txs) chain.mempool.add(decodeTx(profile, unhex(t)));
  const p = chain.proposeBlock(b.time, new Uint8Array(20));
  chain.commitBlock(p, create(CommitSchema, { height: BigInt(p.height), blockHash: p.blockHash }));
  out.push({
    hash: hex(p.blockHash),
    receipts: p.result.receipts.map((r) => `${r.code || 'ok'}:${r.message.slice(0, 60)}`),
  });
}
await chain.close();
await closeSandbox();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(out));
