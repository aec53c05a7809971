/**
 * IoT readings ingested and anchored (docs/apps/iot.md): a local network with the iot app
 * (`archi up --apps`, solo by default, `--nodes 4` for BFT), devices added through the CLI, an
 * `archi iot ingest` process on the embedded aedes broker, and a publisher that offers
 * pre-signed readings at a fixed rate for a fixed time (signing happens before the clock
 * starts, so the publisher is not the limit). Reports what ingest anchored per second, two
 * ways: `anchoredPerSec` over the whole run, from the first publish to the last anchor (so
 * the last readings' latency counts against it), and `sustainedPerSec` over the last 3/4
 * of the publishing, once start-up is over; and ingest's reading-to-anchor latency (arrival
 * to the anchor's commit). Prints JSON and writes it under bench/results/; not a test.
 * Usage: node --import tsx bench/iot.ts [--rate 10000] [--duration 10] [--devices 8]
 *   [--batch 2000] [--every 250] [--verify-threads 1] [--nodes 1|4] [--broker aedes|mosquitto]
 * `--broker mosquitto` runs Debian's Mosquitto (/usr/sbin/mosquitto) in place of the aedes
 * broker that `archi up --apps` embeds in the node's process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { loadDeviceKey } from '../src/apps/iot/device-key.ts';
import { signReading } from '../src/apps/iot/reading.ts';
import { startMosquitto } from '../test/e2e/mosquitto.ts';
import {
  ARCHI,
  Cleanup,
  gitCommit,
  machineInfo,
  runArchi,
  waitFor,
  writeReport,
} from './harness.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '10' },
    devices: { type: 'string', default: '8' },
    batch: { type: 'string', default: '2000' },
    every: { type: 'string', default: '250' },
    'verify-threads': { type: 'string', default: '1' },
    nodes: { type: 'string', default: '1' },
    broker: { type: 'string', default: 'aedes' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.duration);
const deviceCount = Number(values.devices);
const nodes = Number(values.nodes);
const total = rate * seconds;

const cleanup = new Cleanup();
cleanup.onSignals();
const dir = cleanup.dir(mkdtempSync(join(tmpdir(), 'archi-iot-bench-')));
const archi = (...args: string[]) => runArchi([...args, '--dir', dir], cleanup);

function start(args: string[]): ChildProcess {
  return cleanup.process(
    spawn(process.execPath, [ARCHI, ...args], { stdio: ['ignore', 'pipe', 'ignore'] }),
  );
}

try {
  await runArchi([
    'init',
    '--dir',
    dir,
    '--orgs',
    String(nodes),
    '--consensus',
    nodes === 1 ? 'solo' : 'tbft',
  ]);
  const up = start(['up', '--dir', dir, '--apps', '--no-console', '--no-gateway']);
  await waitFor(up, /press Ctrl-C/, 180_000);
  const url =
    values.broker === 'mosquitto'
      ? await mosquittoUrl()
      : JSON.parse(readFileSync(join(dir, 'iot', 'broker.json'), 'utf8')).url;

  const keys: ReturnType<typeof loadDeviceKey>[] = [];
  for (let i = 0; i < deviceCount; i++) {
    const file = join(dir, `bench-${i}.key`);
    await archi('iot', 'device', 'add', `bench-${i}`, '--out', file, '--json');
    keys.push(loadDeviceKey(file));
  }
  // Signed before the clock starts: the publisher only sends.
  const ts = Date.now();
  const messages = Array.from({ length: total }, (_, i) => {
    const k = keys[i % keys.length];
    const r = signReading(k.profile, k.signer, k.file.device, {
      data: { v: i, unit: 'kWh' },
      ts: ts + i,
      seq: i,
    });
    return { topic: `bench/${k.file.device}/readings`, payload: JSON.stringify(r) };
  });

  const ingest = start([
    'iot',
    'ingest',
    '--dir',
    dir,
    '--broker',
    url,
    '--topic',
    'bench/+/readings',
    '--batch',
    String(values.batch),
    '--every',
    String(values.every),
    '--verify-threads',
    String(values['verify-threads']),
    '--status-every',
    '250',
    '--json',
  ]);
  let status: any = null;
  let t0 = 0;
  /** [seconds since the first publish, readings anchored] at each status line. */
  const samples: Array<[number, number]> = [];
  let out = '';
  ingest.stdout!.on('data', (d) => {
    out += d.toString();
    const lines = out.split('\n');
    out = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.includes('"event":"status"')) continue;
      status = JSON.parse(l);
      if (t0 > 0) samples.push([(performance.now() - t0) / 1000, status.anchoredReadings]);
    }
  });
  await waitFor(ingest, /"event":"subscribed"/, 60_000);

  const client = mqtt.connect(url);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  // Fixed offered rate: a slice every 10 ms, whatever the last slice cost.
  t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    for (; sent < due; sent++) client.publish(messages[sent].topic, messages[sent].payload);
    await new Promise((r) => setTimeout(r, 10));
  }
  const publishSec = (performance.now() - t0) / 1000;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && (status?.anchoredReadings ?? 0) + countRefused(status) < total) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const elapsedSec = (performance.now() - t0) / 1000;
  client.end();

  const report = {
    bench: 'iot',
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: machineInfo(),
    nodes,
    devices: deviceCount,
    offeredPerSec: rate,
    seconds,
    readings: total,
    publishSec: round(publishSec),
    accepted: status?.accepted ?? 0,
    anchored: status?.anchoredReadings ?? 0,
    batches: status?.anchoredBatches ?? 0,
    refused: status?.refused ?? null,
    elapsedSec: round(elapsedSec),
    anchoredPerSec: Math.round((status?.anchoredReadings ?? 0) / elapsedSec),
    sustainedPerSec: rateBetween(samples, publishSec / 4, publishSec),
    lastAnchorAfterPublishSec: round(elapsedSec - publishSec),
    readingToAnchorMs: status?.latencyMs ?? null,
    batch: Number(values.batch),
    everyMs: Number(values.every),
    verifyThreads: Number(values['verify-threads']),
    broker: values.broker,
  };
  writeReport(`iot-${nodes === 1 ? 'solo' : `bft${nodes}`}`, report);
} finally {
  await cleanup.run();
}

/** Mosquitto in the bench's directory, ended by the cleanup; its URL. */
async function mosquittoUrl(): Promise<string> {
  const m = await startMosquitto(dir);
  cleanup.process(m.proc);
  return m.url;
}

function countRefused(s: any): number {
  return s ? Object.values(s.refused as Record<string, number>).reduce((a, b) => a + b, 0) : 0;
}

/** Readings anchored per second between the samples nearest to `from` and `to` seconds. */
function rateBetween(samples: Array<[number, number]>, from: number, to: number): number | null {
  const near = (t: number) =>
    samples.reduce<[number, number] | null>(
      (best, s) => (best === null || Math.abs(s[0] - t) < Math.abs(best[0] - t) ? s : best),
      null,
    );
  const a = near(from);
  const b = near(to);
  return a && b && b[0] > a[0] ? Math.round((b[1] - a[1]) / (b[0] - a[0])) : null;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
