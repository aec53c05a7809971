/**
 * The real tbft driver on its WAL and double-sign guard, crashed twice in one height: the
 * first crash leaves a torn record at the end of the WAL, the restarted node locks and signs
 * a precommit, the second crash loses nothing it had made durable. After the second restart
 * the node re-issues the identical precommit and, still locked, prevotes nil for another
 * block in the next round (a node that forgot its lock would prevote that block).
 *
 * One validator (A) of four runs in the driver on a chain on real LMDB; the other three are
 * played by the test, which signs their proposals and votes with their keys.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  ConsensusMessageSchema,
  create,
  decode,
  encode,
  ProposalBodySchema,
  SignedProposalSchema,
  VoteBodySchema,
  VoteSchema,
  VoteType,
} from '../../src/codec/index.ts';
import { GuardedSigner } from '../../src/consensus/signer.ts';
import { systemClock } from '../../src/consensus/clock.ts';
import { TbftDriver } from '../../src/consensus/tbft/driver.ts';
import { CHANNELS } from '../../src/p2p/channels.ts';
import { proposer } from '../../src/consensus/tbft/proposer.ts';
import { Wal } from '../../src/consensus/wal.ts';
import { address, getProfile, type Signer } from '../../src/crypto/profile.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { voteBodyBytes } from '../../src/types/vote.ts';
import { makeFixture } from '../unit/chain-fixture.ts';

const profile = getProfile('standard');
const keys = Array.from({ length: 4 }, () => profile.generateKeyPair());
const validators = keys.map((k, i) => ({
  name: `v${i}`,
  signer: profile.signerFromPem(k.privateKeyPem),
  address: address(profile, k.publicKey),
  publicKey: k.publicKey,
}));
const set = { validators: validators.map((v) => ({ address: v.address, power: 10 })) };
const p0 = proposer(set, 1, 0);
const p1 = proposer(set, 1, 1);
// The node under test proposes in neither round, so the test plays every proposal.
const self = validators.find((v) => v.address !== p0 && v.address !== p1)!;
const others = validators.filter((v) => v !== self);
const byAddress = (a: string) => validators.find((v) => v.address === a)!;

const fx = makeFixture('standard', {
  genesis: {
    consensus: 'tbft',
    validators: validators.map((v) => ({
      name: v.name,
      org: 'org1',
      publicKey: hex(v.publicKey),
      power: 10,
    })),
    // No timeout fires during the test: every step is driven by messages.
    params: { timeoutProposeMs: 600_000, timeoutVoteMs: 600_000, timeoutDeltaMs: 1 },
  },
});
const scratch = mkdtempSync(join(tmpdir(), 'archi-wal-driver-'));
after(async () => {
  await fx.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

const consensusMsg = (msg: Parameters<typeof create<typeof ConsensusMessageSchema>>[1]) =>
  encode(ConsensusMessageSchema, create(ConsensusMessageSchema, msg));

function proposal(by: Signer, from: string, round: number, block: Uint8Array, hash: Uint8Array) {
  const body = encode(
    ProposalBodySchema,
    create(ProposalBodySchema, {
      chainId: 'unit',
      height: 1n,
      round,
      polRound: -1,
      blockHash: hash,
      timestamp: BigInt(Date.now()),
      proposer: unhex(from),
    }),
  );
  const value = create(SignedProposalSchema, { body, signature: by.sign(body), block });
  return consensusMsg({ msg: { case: 'proposal', value } });
}

function prevote(v: (typeof validators)[number], round: number, hash: Uint8Array) {
  const body = voteBodyBytes(
    'unit',
    VoteType.PREVOTE,
    1,
    round,
    hash,
    Date.now(),
    unhex(v.address),
  );
  const value = create(VoteSchema, { body, signature: v.signer.sign(body) });
  return consensusMsg({ msg: { case: 'vote', value } });
}

interface OwnVote {
  kind: 'prevote' | 'precommit';
  round: number;
  blockHash: string;
  signature: string;
}

/** The votes the node under test broadcast, decoded. */
function ownVotes(sent: Uint8Array[]): OwnVote[] {
  const out: OwnVote[] = [];
  for (const bytes of sent) {
    const m = decode(ConsensusMessageSchema, bytes, 'INTERNAL');
    if (m.msg.case !== 'vote') continue;
    const body = decode(VoteBodySchema, m.msg.value.body, 'INTERNAL');
    if (hex(body.validator) !== self.address) continue;
    out.push({
      kind: body.type === VoteType.PREVOTE ? 'prevote' : 'precommit',
      round: body.round,
      blockHash: hex(body.blockHash),
      signature: hex(m.msg.value.signature),
    });
  }
  return out;
}

/** One life of the node: start the driver on what is on disk, feed it, "crash" (stop, no cleanup). */
async function life(
  dir: string,
  feed: (deliver: (from: string, bytes: Uint8Array) => void) => void,
): Promise<{ sent: Uint8Array[]; warnings: string[] }> {
  const chain = fx.open(dir);
  const wal = Wal.open(dir);
  const sent: Uint8Array[] = [];
  const warnings: string[] = [];
  const driver = new TbftDriver({
    chain,
    signer: GuardedSigner.open(dir, self.signer),
    net: {
      broadcast: (channel, bytes) => {
        if (channel === CHANNELS.consensus.id) sent.push(bytes);
      },
      send: () => true,
    },
    wal,
    log: { info: () => {}, debug: () => {}, warn: (_o, msg) => warnings.push(msg) },
    clock: systemClock,
    reportEvidence: () => {},
    onCommitted: () => {},
    onMissingBlock: () => {},
  });
  driver.start();
  try {
    feed((from, bytes) => driver.receive(from, CHANNELS.consensus.id, bytes));
  } finally {
    driver.stop();
    wal.close();
    await chain.close();
  }
  return { sent, warnings };
}

test('two crashes in one height: the votes signed after the first restart and the lock survive', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'archi-wal-driver-node-'));
  fx.dirs.push(dir);
  // Two candidate blocks for height 1, built on a chain of their own.
  const builder = fx.open();
  const t = Date.now();
  const x = builder.proposeBlock(t, unhex(p0));
  const y = builder.proposeBlock(t + 1, unhex(p1));
  assert.notEqual(hex(x.blockHash), hex(y.blockHash));

  // Life 1: round 0, proposal X; the node prevotes X.
  const one = await life(dir, (deliver) => {
    deliver(p0, proposal(byAddress(p0).signer, p0, 0, x.blockBytes, x.blockHash));
  });
  assert.deepEqual(
    ownVotes(one.sent).map((v) => [v.kind, v.round, v.blockHash]),
    [['prevote', 0, hex(x.blockHash)]],
  );

  // First crash: it died while logging the next input, half of which reached the WAL.
  const torn = mkdtempSync(join(scratch, 'torn-'));
  const tornWal = Wal.open(torn);
  const before = statSync(join(torn, 'consensus.wal')).size;
  tornWal.append({ height: 1, kind: 'msg', data: prevote(others[2], 0, x.blockHash) });
  tornWal.close();
  const frame = readFileSync(join(torn, 'consensus.wal')).subarray(before);
  appendFileSync(join(dir, 'consensus.wal'), frame.subarray(0, frame.length >> 1));

  // Life 2: two more prevotes for X make a polka: the node locks on X and precommits it.
  const two = await life(dir, (deliver) => {
    deliver(others[0].address, prevote(others[0], 0, x.blockHash));
    deliver(others[1].address, prevote(others[1], 0, x.blockHash));
  });
  const precommit = ownVotes(two.sent).find((v) => v.kind === 'precommit');
  assert.deepEqual(precommit && [precommit.round, precommit.blockHash], [0, hex(x.blockHash)]);

  // Second crash (nothing torn this time), life 3: the replay alone must restore the lock.
  const d = others.find((v) => v.address !== p1)!;
  const three = await life(dir, (deliver) => {
    // Round 1: another proposer offers Y, and a second validator moves to round 1 (f + 1 of
    // the power in a higher round: the node follows). Locked on X, it must prevote nil.
    deliver(p1, proposal(byAddress(p1).signer, p1, 1, y.blockBytes, y.blockHash));
    deliver(d.address, prevote(d, 1, y.blockHash));
  });
  const again = ownVotes(three.sent);
  assert.ok(
    again.some((v) => v.kind === 'precommit' && v.signature === precommit!.signature),
    'the precommit signed after the first restart is re-sent from the WAL with its signature',
  );
  const round1 = again.filter((v) => v.round === 1);
  assert.deepEqual(
    round1.map((v) => [v.kind, v.blockHash]),
    [['prevote', '']],
    'still locked on X: prevote nil for Y in round 1',
  );

  // Across all three lives the node never signed two different votes for one step, and a
  // vote it sent again carries the very same signature.
  const slots = new Map<string, OwnVote>();
  for (const v of [...ownVotes(one.sent), ...ownVotes(two.sent), ...again]) {
    const key = `${v.round}/${v.kind}`;
    const seen = slots.get(key);
    if (seen) assert.deepEqual(v, seen, `one vote per step (${key})`);
    else slots.set(key, v);
  }
  // The guard refused to re-sign the earlier prevote during the replay (the WAL re-sent it).
  assert.ok(three.warnings.includes('vote not signed'));

  // The WAL itself holds everything: own prevote, both peer prevotes, own precommit.
  const wal = Wal.open(dir);
  const kinds = wal.replay(1).map((r) => r.kind);
  wal.close();
  assert.ok(kinds.filter((k) => k === 'own').length >= 3, kinds.join(','));
  assert.ok(kinds.filter((k) => k === 'msg').length >= 5, kinds.join(','));
});
