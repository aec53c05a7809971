/**
 * The consensus WAL: binary payloads, replay by height, reset; torn tails cut off on open so
 * that later appends are not lost behind them, checksums, damage in the middle refused, and
 * files of the first format converted.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Wal, type WalRecord } from '../../src/consensus/wal.ts';
import { getProfile } from '../../src/crypto/profile.ts';

const root = mkdtempSync(join(tmpdir(), 'archi-wal-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => mkdtempSync(join(root, `${dirs++}-`));
const walFile = (dir: string): string => join(dir, 'consensus.wal');
const size = (dir: string): number => statSync(walFile(dir)).size;
const MAGIC = Buffer.from('ARCHWAL\x02', 'latin1');

/** The exact bytes a record takes in the file (written by a scratch WAL). */
function frameOf(rec: WalRecord): Buffer {
  const dir = freshDir();
  const wal = Wal.open(dir);
  const before = size(dir);
  wal.append(rec);
  wal.sync();
  wal.close();
  return readFileSync(walFile(dir)).subarray(before);
}

const summary = (recs: WalRecord[]) => recs.map((r) => [r.kind, r.round, r.data && [...r.data]]);

const profile = getProfile('standard');
const validatorKey = profile.signerFromPem(profile.generateKeyPair().privateKeyPem);
/** An own signed vote as the driver logs it (the payload bytes are a real signature here). */
const signedVote = (round: number): WalRecord => {
  const body = new TextEncoder().encode(`prevote/5/${round}/abcd`);
  return { height: 5, kind: 'own', round, data: Buffer.concat([body, validatorKey.sign(body)]) };
};
const input: WalRecord = { height: 5, kind: 'msg', round: 0, data: Uint8Array.of(1, 2, 3) };

test('replays the records of one height with their payloads, survives a torn tail, resets', () => {
  const dir = freshDir();
  const wal = Wal.open(dir);
  wal.append({ height: 5, kind: 'msg', data: Uint8Array.of(1, 2, 3) });
  wal.append({ height: 5, kind: 'timeout', step: 'propose', round: 0 });
  wal.append({ height: 6, kind: 'block', round: 1, data: new Uint8Array(70_000).fill(7) });
  wal.sync();
  wal.close();
  // A crash in the middle of the next write leaves half a record behind.
  appendFileSync(walFile(dir), Buffer.from([0, 0, 1, 0, 0, 0]));
  const again = Wal.open(dir);
  const five = again.replay(5);
  assert.deepEqual(
    five.map((r) => [r.kind, r.data && [...r.data]]),
    [
      ['msg', [1, 2, 3]],
      ['timeout', undefined],
    ],
  );
  assert.equal(five[1].step, 'propose');
  const six = again.replay(6);
  assert.equal(six.length, 1);
  assert.equal(six[0].data?.length, 70_000);
  assert.equal(six[0].round, 1);
  again.reset();
  assert.deepEqual(again.replay(5), []);
  assert.deepEqual(readFileSync(walFile(dir)), MAGIC, 'a reset log holds only the file header');
  again.append({ height: 7, kind: 'own', data: Uint8Array.of(9) });
  assert.equal(again.replay(7).length, 1);
  again.close();
});

test('a record appended after a restart over a torn tail survives the next restart', () => {
  const dir = freshDir();
  const first = frameOf(input);
  const vote = signedVote(0);
  const second = frameOf(vote);
  const wal = Wal.open(dir);
  wal.append(input);
  wal.sync();
  wal.close();
  // First crash: half of the next record reached the file.
  appendFileSync(walFile(dir), frameOf({ ...input, round: 9 }).subarray(0, 11));
  const restarted = Wal.open(dir);
  assert.equal(restarted.recovery?.action, 'truncated');
  assert.equal(size(dir), MAGIC.length + first.length, 'the torn bytes are cut on open');
  restarted.append(vote);
  restarted.sync();
  restarted.close();
  // Second crash, second restart: both records come back, nothing else is in the file.
  const again = Wal.open(dir);
  assert.equal(again.recovery, undefined);
  assert.deepEqual(summary(again.replay(5)), summary([input, vote]));
  assert.deepEqual(readFileSync(walFile(dir)), Buffer.concat([MAGIC, first, second]));
  assert.equal(size(dir), MAGIC.length + first.length + second.length);
  again.close();
});

test('a last record torn at any byte is cut off and appends go on after the intact ones', () => {
  const last = frameOf(signedVote(1));
  const next = signedVote(2);
  for (let cut = 1; cut < last.length; cut++) {
    const dir = freshDir();
    const wal = Wal.open(dir);
    wal.append(input);
    wal.sync();
    wal.close();
    const intact = size(dir);
    appendFileSync(walFile(dir), last.subarray(0, cut));
    const reopened = Wal.open(dir);
    const r = reopened.recovery;
    assert.ok(r?.action === 'truncated' && r.bytes === cut && r.records === 1, `cut at ${cut}`);
    assert.equal(size(dir), intact, `cut at ${cut}`);
    assert.deepEqual(summary(reopened.replay(5)), summary([input]), `cut at ${cut}`);
    reopened.append(next);
    reopened.sync();
    reopened.close();
    const third = Wal.open(dir);
    assert.deepEqual(summary(third.replay(5)), summary([input, next]), `cut at ${cut}`);
    third.close();
    rmSync(dir, { recursive: true });
  }
});

test('a torn record header and a torn file header', () => {
  const dir = freshDir();
  const wal = Wal.open(dir);
  wal.append(input);
  wal.close();
  const intact = size(dir);
  appendFileSync(walFile(dir), Buffer.from([0, 0, 0]));
  const reopened = Wal.open(dir);
  assert.deepEqual(reopened.recovery, {
    action: 'truncated',
    offset: intact,
    bytes: 3,
    reason: 'incomplete record frame',
    records: 1,
  });
  assert.equal(size(dir), intact);
  assert.equal(reopened.replay(5).length, 1);
  reopened.close();

  // Only part of the file header: nothing to keep, a fresh log.
  const other = freshDir();
  writeFileSync(walFile(other), MAGIC.subarray(0, 4));
  const fresh = Wal.open(other);
  assert.deepEqual(readFileSync(walFile(other)), MAGIC);
  assert.deepEqual(fresh.replay(5), []);
  fresh.close();
});

test('a zero-length file (as the first format reset it) opens as an empty log', () => {
  const dir = freshDir();
  writeFileSync(walFile(dir), Buffer.alloc(0));
  const wal = Wal.open(dir);
  assert.equal(wal.recovery, undefined);
  assert.deepEqual(wal.replay(5), []);
  wal.append(input);
  wal.close();
  const again = Wal.open(dir);
  assert.deepEqual(summary(again.replay(5)), summary([input]));
  again.close();
});

test('a bit flip in the last record is caught by its checksum and the record dropped', () => {
  const dir = freshDir();
  const wal = Wal.open(dir);
  wal.append(input);
  wal.sync();
  const intact = size(dir);
  wal.append(signedVote(0));
  wal.close();
  const bytes = readFileSync(walFile(dir));
  bytes[bytes.length - 5] ^= 0x10; // inside the signature
  writeFileSync(walFile(dir), bytes);
  const reopened = Wal.open(dir);
  assert.equal(reopened.recovery?.action, 'truncated');
  assert.equal(reopened.recovery?.reason, 'checksum mismatch');
  assert.equal(size(dir), intact);
  assert.deepEqual(summary(reopened.replay(5)), summary([input]));
  reopened.close();
});

test('damage before intact records refuses to open, leaves the file alone, says how to go on', () => {
  const dir = freshDir();
  const wal = Wal.open(dir);
  wal.append(input);
  const damageAt = size(dir);
  wal.append(signedVote(0));
  wal.append(signedVote(1));
  wal.append({ height: 5, kind: 'timeout', step: 'prevote', round: 1 });
  wal.close();
  const bytes = readFileSync(walFile(dir));
  bytes[damageAt + 20] ^= 0x01;
  writeFileSync(walFile(dir), bytes);
  assert.throws(
    () => Wal.open(dir),
    (e: Error & { code?: string }) =>
      e.code === 'CONFIG_INVALID' &&
      e.message.includes(`damaged at byte ${damageAt} (checksum mismatch)`) &&
      e.message.includes('2 intact record(s) follow') &&
      e.message.includes(`truncate -s ${damageAt}`),
  );
  assert.deepEqual(readFileSync(walFile(dir)), bytes, 'a refused file is not touched');
  // A damaged record length (pointing past the end) is not mistaken for a torn tail either.
  const bad = Buffer.from(bytes);
  bad[damageAt + 20] ^= 0x01;
  bad.writeUInt32BE(0x00ffffff, damageAt);
  writeFileSync(walFile(dir), bad);
  assert.throws(() => Wal.open(dir), /runs past the end of the file\) and 2 intact record/);
  // The operator's way out keeps what came before the damage.
  truncateSync(walFile(dir), damageAt);
  const cut = Wal.open(dir);
  assert.deepEqual(summary(cut.replay(5)), summary([input]));
  cut.close();
});

test('a file of the first format is converted on open, its torn tail dropped', () => {
  const dir = freshDir();
  const v1 = (rec: WalRecord): Buffer => {
    const { data, ...meta } = rec;
    const header = Buffer.from(JSON.stringify(meta));
    const payload = Buffer.from(data ?? []);
    const frame = Buffer.alloc(8 + header.length + payload.length);
    frame.writeUInt32BE(4 + header.length + payload.length, 0);
    frame.writeUInt32BE(header.length, 4);
    header.copy(frame, 8);
    payload.copy(frame, 8 + header.length);
    return frame;
  };
  const vote = signedVote(0);
  const torn = v1(signedVote(1)).subarray(0, 30);
  writeFileSync(walFile(dir), Buffer.concat([v1(input), v1(vote), torn]));
  const wal = Wal.open(dir);
  assert.deepEqual(wal.recovery, {
    action: 'migrated',
    fromVersion: 1,
    records: 2,
    droppedBytes: torn.length,
  });
  assert.deepEqual(
    readFileSync(walFile(dir)),
    Buffer.concat([MAGIC, frameOf(input), frameOf(vote)]),
  );
  const next = signedVote(1);
  wal.append(next);
  wal.close();
  const again = Wal.open(dir);
  assert.equal(again.recovery, undefined);
  assert.deepEqual(summary(again.replay(5)), summary([input, vote, next]));
  again.close();
});
