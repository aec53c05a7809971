/** The consensus WAL: binary payloads, replay by height, torn tails, reset. */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Wal } from '../../src/consensus/wal.ts';

const dir = mkdtempSync(join(tmpdir(), 'archi-wal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('replays the records of one height with their payloads, survives a torn tail, resets', () => {
  const wal = Wal.open(dir);
  wal.append({ height: 5, kind: 'msg', data: Uint8Array.of(1, 2, 3) });
  wal.append({ height: 5, kind: 'timeout', step: 'propose', round: 0 });
  wal.append({ height: 6, kind: 'block', round: 1, data: new Uint8Array(70_000).fill(7) });
  wal.sync();
  wal.close();
  // A crash in the middle of the next write leaves half a record behind.
  appendFileSync(join(dir, 'consensus.wal'), Buffer.from([0, 0, 1, 0, 0, 0]));
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
  again.append({ height: 7, kind: 'own', data: Uint8Array.of(9) });
  assert.equal(again.replay(7).length, 1);
  again.close();
});
