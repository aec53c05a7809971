// The ingest service on its own (real LMDB store, real signature threads, the chain replaced
// by a device table and an anchorer that records roots): what it accepts, what it refuses
// and why, and that stopping waits for readings whose signatures are still being checked.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IngestService } from '../../src/apps/iot/ingest.ts';
import { merkleRoot } from '../../src/apps/iot/merkle.ts';
import { signReading } from '../../src/apps/iot/reading.ts';
import { type DeviceRecord, deviceIdOf } from '../../src/apps/iot/rules.ts';
import { ReadingStore } from '../../src/apps/iot/store.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { hex } from '../../src/types/hex.ts';

function device(crypto: 'standard' | 'gm', name: string, status = 'active') {
  const profile = getProfile(crypto);
  const pair = profile.generateKeyPair();
  const publicKey = hex(pair.publicKey);
  const rec = { id: deviceIdOf(publicKey), name, publicKey, status } as unknown as DeviceRecord;
  const signer = profile.signerFromPem(pair.privateKeyPem);
  const reading = (v: number) =>
    signReading(profile, signer, rec.id, { data: { v }, ts: 1_700_000_000_000 + v, seq: v });
  return { rec, reading };
}

function setup(
  crypto: 'standard' | 'gm',
  devices: DeviceRecord[],
  batch = 1000,
  anchor: { delayMs?: number; maxInFlight?: number } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'archi-ingest-'));
  const store = ReadingStore.open(dir);
  const anchors: Array<{ root: string; count: number }> = [];
  const service = new IngestService({
    profile: getProfile(crypto),
    store,
    devices: { device: async (id) => devices.find((d) => d.id === id) ?? null },
    anchor: async (root, count) => {
      anchors.push({ root, count });
      if (anchor.delayMs) await new Promise((r) => setTimeout(r, anchor.delayMs));
      return { seq: anchors.length, root, count } as never;
    },
    batch,
    everyMs: 20,
    ...(anchor.maxInFlight ? { maxInFlight: anchor.maxInFlight } : {}),
  });
  return {
    service,
    store,
    anchors,
    async close() {
      await service.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const json = (x: unknown) => JSON.stringify(x);

for (const crypto of ['standard', 'gm'] as const) {
  test(`${crypto}: signed readings are anchored; each bad one is refused under its reason`, async () => {
    const a = device(crypto, 'a');
    const b = device(crypto, 'b');
    const off = device(crypto, 'off', 'disabled');
    const stranger = device(crypto, 'stranger');
    const s = setup(crypto, [a.rec, b.rec, off.rec], 4);
    try {
      await s.service.ready();
      const good = [a.reading(1), b.reading(2), a.reading(3), b.reading(4), a.reading(5)];
      for (const r of good) s.service.handle(json(r));
      // Signed by another key, and a body changed after signing (its id no longer matches).
      s.service.handle(json({ ...a.reading(6), sig: b.reading(6).sig }));
      s.service.handle(json({ ...a.reading(7), data: { v: 8 } }));
      s.service.handle(json(off.reading(9)));
      s.service.handle(json(stranger.reading(10)));
      s.service.handle('{"not":');
      s.service.handle(json({ ...a.reading(11), sig: '' }));
      await s.service.drain();

      const st = s.service.status();
      assert.equal(st.accepted, 5);
      assert.equal(st.anchoredReadings, 5);
      assert.deepEqual(st.refused, {
        malformed: 1,
        unsigned: 1,
        bad_signature: 2,
        unknown_device: 1,
        disabled_device: 1,
        duplicate: 0,
      });
      assert.deepEqual(
        s.anchors.map((x) => x.count),
        [4, 1],
      );
      // Each anchored root is the Merkle root of the batch's ids as stored.
      for (const [n, anchor] of s.anchors.entries()) {
        const stored = s.store.batch(n)!;
        assert.equal(anchor.root, merkleRoot(getProfile(crypto), stored.ids));
      }
      const ids = [0, 1].flatMap((n) => s.store.batch(n)!.ids).sort();
      assert.deepEqual(ids, good.map((r) => r.id).sort());
    } finally {
      await s.close();
    }
  });
}

test('a reading sent twice at once, or again after it was stored, is accepted once', async () => {
  const a = device('standard', 'a');
  const s = setup('standard', [a.rec]);
  try {
    await s.service.ready();
    const r = a.reading(1);
    // Both copies are checked at the same time: only one may be accepted.
    s.service.handle(json(r));
    s.service.handle(json(r));
    await s.service.drain();
    s.service.handle(json(r));
    await s.service.drain();
    const st = s.service.status();
    assert.equal(st.accepted, 1);
    assert.equal(st.refused.duplicate, 2);
    assert.equal(st.anchoredReadings, 1);
  } finally {
    await s.close();
  }
});

test('stop anchors every reading accepted, including those still being checked', async () => {
  const a = device('standard', 'a');
  const s = setup('standard', [a.rec], 250);
  const readings = Array.from({ length: 1000 }, (_, i) => json(a.reading(i)));
  try {
    await s.service.ready();
    // The device record is cached first, so every reading below is checked on the threads.
    s.service.handle(readings[0]);
    await s.service.drain();
    for (const r of readings.slice(1)) s.service.handle(r);
    assert.ok(s.service.status().pending > 0, 'readings are still being checked');
    await s.service.stop();
    const st = s.service.status();
    assert.equal(st.accepted, 1000);
    assert.equal(st.anchoredReadings, 1000);
    assert.equal(s.store.counts().readings, 1000);
  } finally {
    await s.close();
  }
});

test('while every anchor slot is taken the next batch grows instead of queueing', async () => {
  const a = device('standard', 'a');
  // One anchor at a time, each taking 300 ms, batches of 10: 200 readings arriving at once
  // would be 20 anchors (6 s) if batches stayed at 10.
  const s = setup('standard', [a.rec], 10, { delayMs: 300, maxInFlight: 1 });
  try {
    await s.service.ready();
    for (let i = 0; i < 200; i++) s.service.handle(json(a.reading(i)));
    await s.service.drain();
    const counts = s.anchors.map((x) => x.count);
    assert.equal(
      counts.reduce((x, y) => x + y, 0),
      200,
    );
    assert.ok(counts.length <= 4, `anchors of ${counts.join(', ')} readings`);
    assert.ok(Math.max(...counts) > 10);
  } finally {
    await s.close();
  }
});
