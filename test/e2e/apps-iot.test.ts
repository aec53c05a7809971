/**
 * The iot app on a 4-organization BFT network through the `archi` CLI: `up --apps` deploys it
 * and starts an embedded aedes broker with an ingest service; devices are added with the CLI;
 * `mosquitto_pub` is the device, publishing to a real Mosquitto broker (started here) that an
 * `archi iot ingest` process subscribes to, and to the aedes broker. Every bad input
 * (malformed, unsigned, wrongly signed, unknown or disabled device, duplicate) is counted and
 * dropped while ingest keeps running; a reading is proven and verified offline, and a
 * tampered proof is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  archi,
  archiJson,
  type CliResult,
  type Running,
  removeDir,
  startArchi,
  stopAll,
  tempDir,
  up,
} from './harness.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';
import { initNetwork } from './network.ts';

let dir: string;
let upOut: string;
let mosquitto: Mosquitto | undefined;
let mqttPort: number;
let ingest: Running;

before(async () => {
  dir = tempDir('archi-iot-');
  await initNetwork(dir, 4);
  const net4 = await up(dir, ['--no-console', '--apps']);
  upOut = net4.proc.out;
  mosquitto = await startMosquitto(dir);
  mqttPort = mosquitto.port;
  ingest = startArchi([
    'iot',
    'ingest',
    '--dir',
    dir,
    '--broker',
    `mqtt://127.0.0.1:${mqttPort}`,
    '--topic',
    'factory/+/readings',
    '--batch',
    '4',
    '--every',
    '300',
    '--status-every',
    '200',
    '--json',
  ]);
  await ingest.waitFor(/"event":"subscribed"/);
});
after(async () => {
  await stopAll();
  mosquitto?.proc.kill('SIGTERM');
  removeDir(dir);
});

const cli = (...args: string[]) => archi([...args, '--dir', dir], { timeoutMs: 120_000 });
const json = (...args: string[]) => archiJson([...args, '--dir', dir]);

function succeeds(r: CliResult): string {
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  return r.stdout;
}

function failsWith(r: CliResult, code: string): void {
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr.trim(), new RegExp(`^error: ${code}: `));
}

async function sign(key: string, data: unknown, ...more: string[]): Promise<any> {
  return JSON.parse(
    succeeds(await archi(['iot', 'sign', '--key', key, '--data', JSON.stringify(data), ...more])),
  );
}

function publish(port: number, message: string, topic = 'factory/line1/readings'): void {
  execFileSync('/usr/bin/mosquitto_pub', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-q',
    '1',
    '-t',
    topic,
    '-m',
    message,
  ]);
}

/** The ingest process's latest status line (--json). */
function lastStatus(proc: Running): any {
  const lines = proc.out
    .trim()
    .split('\n')
    .filter((l) => l.includes('"event":"status"'));
  return lines.length ? JSON.parse(lines[lines.length - 1]) : null;
}

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out: ${what}; ingest: ${JSON.stringify(lastStatus(ingest))}\n${ingest.err}`,
  );
}

const k1 = () => join(dir, 'meter-1.key');
const k2 = () => join(dir, 'meter-2.key');

test('up --apps deploys iot and starts an aedes broker with ingest', () => {
  assert.match(upOut, /iot: contract iot deployed/);
  assert.match(
    upOut,
    /iot: broker mqtt:\/\/127\.0\.0\.1:\d+ \(aedes\), ingest on factory\/\+\/readings/,
  );
});

test('devices signed readings through Mosquitto: bad ones counted and dropped, good ones anchored and proven', async () => {
  const d1 = await json('iot', 'device', 'add', 'meter-1', '--out', k1());
  assert.equal(d1.owner, 'org1');
  assert.equal(d1.curve, 'P-256');
  const d2 = await json('iot', 'device', 'add', 'meter-2', '--out', k2(), '--as', 'org2/client');
  assert.equal(d2.owner, 'org2');
  failsWith(
    await cli('iot', 'device', 'add', 'meter-1', '--out', join(dir, 'again.key')),
    'IOT_EXISTS',
  );
  failsWith(await cli('iot', 'device', 'disable', d1.id, '--as', 'org2/admin'), 'IOT_NOT_OWNER');

  const good = [];
  for (let i = 0; i < 6; i++)
    good.push(await sign(i % 2 ? k2() : k1(), { t: 20 + i, unit: 'C' }, '--seq', String(i)));
  for (const g of good) publish(mqttPort, JSON.stringify(g));

  // Bad inputs, each its reason; ingest keeps running.
  const { sig: _s, ...unsigned } = await sign(k1(), { t: 1 });
  const tampered = { ...(await sign(k1(), { t: 2 })), data: { t: 99 } };
  const other = await sign(k2(), { t: 3 });
  const wrongKey = { ...other, device: d1.id };
  publish(mqttPort, 'not json {');
  publish(mqttPort, JSON.stringify(unsigned));
  publish(mqttPort, JSON.stringify(tampered));
  publish(mqttPort, JSON.stringify(wrongKey));
  publish(mqttPort, JSON.stringify({ ...other, device: 'ab'.repeat(20) }));
  publish(mqttPort, JSON.stringify(good[0]));
  await until('6 anchored and 6 refused', () => {
    const s = lastStatus(ingest);
    return (
      s?.anchoredReadings === 6 &&
      Object.values(s.refused as Record<string, number>).reduce((a, b) => a + b, 0) === 6
    );
  });
  const s = lastStatus(ingest);
  assert.equal(s.accepted, 6);
  assert.deepEqual(s.refused, {
    malformed: 1,
    unsigned: 1,
    bad_signature: 2,
    unknown_device: 1,
    disabled_device: 0,
    duplicate: 1,
  });
  assert.equal(ingest.child.exitCode, null);

  // Prove a reading and verify it offline; a tampered file is refused.
  const file = join(dir, 'r0.proof.json');
  const p = await json('iot', 'prove', good[0].id, '--out', file);
  assert.equal(p.file, file);
  const out = succeeds(await cli('iot', 'verify', file));
  assert.match(out, /^verified\n/);
  const v = await json('iot', 'verify', file);
  assert.equal(v.verified, true);
  assert.equal(v.device.name, 'meter-1');
  assert.equal(v.device.owner, 'org1');
  assert.ok(v.anchored.height > 0 && v.anchored.time > 0);
  const proof = JSON.parse(readFileSync(file, 'utf8'));
  const bad = join(dir, 'bad.proof.json');
  writeFileSync(bad, JSON.stringify({ ...proof, reading: { ...proof.reading, data: { t: 0 } } }));
  failsWith(await cli('iot', 'verify', bad), 'IOT_BAD_PROOF');
  const badPath = structuredClone(proof);
  badPath.batch.path[0].hash = '00'.repeat(32);
  writeFileSync(bad, JSON.stringify(badPath));
  failsWith(await cli('iot', 'verify', bad), 'IOT_BAD_PROOF');
  const badBlock = structuredClone(proof);
  badBlock.blocks[badBlock.blocks.length - 1].commit.signatures = [];
  writeFileSync(bad, JSON.stringify(badBlock));
  failsWith(await cli('iot', 'verify', bad), 'PROOF_INVALID');
  failsWith(await cli('iot', 'prove', 'ab'.repeat(32)), 'IOT_NOT_FOUND');

  // A disabled device's readings are refused (after the cache's 1 s bound).
  succeeds(await cli('iot', 'device', 'disable', 'meter-1'));
  await new Promise((r) => setTimeout(r, 1500));
  publish(mqttPort, JSON.stringify(await sign(k1(), { t: 30 })));
  await until('disabled refused', () => lastStatus(ingest)?.refused.disabled_device === 1);
  succeeds(await cli('iot', 'device', 'enable', 'meter-1'));
  const batches = await json('iot', 'batches');
  assert.ok(batches.total >= 2);
});

test('readings through the embedded aedes broker of up --apps are anchored', async () => {
  const { url } = JSON.parse(readFileSync(join(dir, 'iot', 'broker.json'), 'utf8'));
  const port = Number(new URL(url).port);
  const before = (await json('iot', 'batches')).total;
  const r = await sign(k2(), { t: 42 }, '--seq', '100');
  publish(port, JSON.stringify(r), 'factory/line2/readings');
  publish(port, 'garbage', 'factory/line2/readings');
  const deadline = Date.now() + 60_000;
  let proven: any;
  while (Date.now() < deadline) {
    const res = await cli('iot', 'prove', r.id, '--out', join(dir, 'aedes.proof.json'));
    if (res.code === 0) {
      proven = await json('iot', 'verify', join(dir, 'aedes.proof.json'));
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(proven?.verified, true);
  assert.equal(proven.device.name, 'meter-2');
  assert.ok((await json('iot', 'batches')).total > before);
});

test('ingest stops cleanly on SIGTERM and prints its counters', async () => {
  const code = await ingest.stop();
  assert.equal(code, 0, ingest.err);
  assert.match(ingest.out, /"event":"status"/);
});
