/**
 * `archi iot ...`: devices that sign readings, the MQTT ingest service that checks, stores and
 * anchors them, and reading proofs checked offline (docs/apps/iot.md). Refusals print their
 * stable IOT_* code and exit 1.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { startBroker } from '../../apps/iot/broker.ts';
import { Iot } from '../../apps/iot/client.ts';
import { loadDeviceKey, newDeviceKey, writeDeviceKey } from '../../apps/iot/device-key.ts';
import { formatStatus, IngestService, subscribeMqtt } from '../../apps/iot/ingest.ts';
import {
  buildProof,
  parseProofFile,
  type Trust,
  trustFromGenesis,
  verifyProof,
} from '../../apps/iot/proof.ts';
import { signReading } from '../../apps/iot/reading.ts';
import { type DeviceRecord, isDeviceId } from '../../apps/iot/rules.ts';
import { ReadingStore, storePath } from '../../apps/iot/store.ts';
import { getProfile } from '../../crypto/profile.ts';
import { codedError } from '../../sdk/errors.ts';
import { ArchiError } from '../../types/errors.ts';
import { parseJsonText } from '../../types/json.ts';
import {
  addSigningOptions,
  addTargetOptions,
  ClientContext,
  cliOutput,
  DEFAULT_IDENTITY,
  intOption,
  type TargetFlags,
} from '../client-context.ts';
import { formatTable } from './client.ts';

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown, pretty = true): void {
  print(pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value));
}

interface SignFlags extends TargetFlags {
  as: string;
  timeout: number;
}

function formatDevice(d: DeviceRecord): string {
  return `${d.id}  ${d.name}  owner ${d.owner}  ${d.curve}  ${d.status}`;
}

/** The trusted genesis validators: --genesis FILE, else the chain's genesis in --dir. */
function trustOf(path: string): Trust {
  let g: unknown;
  try {
    g = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ArchiError(
      'BAD_REQUEST',
      `proofs are checked against the chain's genesis validators, but ${path} cannot be read (${(e as Error).message}); pass --genesis FILE or the network's --dir`,
    );
  }
  return trustFromGenesis(g as { chainId?: unknown }, path);
}

/** A device id, or the name of a device of the --as organization. */
async function deviceId(iot: Iot, ref: string, org: string): Promise<string> {
  if (isDeviceId(ref)) return ref;
  const d = await iot.deviceByName(org, ref);
  if (!d) throw codedError('IOT_NOT_FOUND', `${org} has no device named ${ref}`);
  return d.id;
}

async function addDevice(name: string, f: SignFlags & { out: string }): Promise<void> {
  if (existsSync(f.out))
    throw codedError('IOT_INVALID_ARGS', `${f.out} exists; pick another --out`);
  const ctx = ClientContext.resolve(f);
  const r = await ctx.withNode(async (client) => {
    const info = await ctx.chainInfo(client);
    const key = newDeviceKey(info.crypto, name);
    const res = await new Iot(client).addDevice(
      ctx.identity(f.as, info),
      name,
      key.publicKey,
      f.timeout,
    );
    writeDeviceKey(f.out, key);
    return res;
  });
  if (f.json) printJson({ txId: r.txId, height: r.height, ...r.result, keyFile: f.out });
  else
    print(
      `added device ${r.result.name} (${r.result.id}) in block ${r.height}; its key is in ${f.out}\n${formatDevice(r.result)}`,
    );
}

async function setEnabled(ref: string, on: boolean, f: SignFlags): Promise<void> {
  const ctx = ClientContext.resolve(f);
  const r = await ctx.withNode(async (client) => {
    const iot = new Iot(client);
    const org = f.as.split('/')[0];
    const id = await deviceId(iot, ref, org);
    return iot.setEnabled(ctx.identity(f.as, await ctx.chainInfo(client)), id, on, f.timeout);
  });
  if (f.json) printJson({ txId: r.txId, height: r.height, ...r.result });
  else
    print(`${on ? 'enabled' : 'disabled'} ${r.result.name} (${r.result.id}) in block ${r.height}`);
}

interface IngestFlags extends SignFlags {
  broker?: string;
  topic: string;
  batch: number;
  every: number;
  statusEvery: number;
  deviceTtl: number;
  verifyThreads: number;
}

/** A running ingest service wired to the chain of `ctx`; what `stop` ends. */
export async function runIngest(
  ctx: ClientContext,
  opts: {
    as: string;
    broker: string;
    topic: string;
    batch: number;
    every: number;
    deviceTtl: number;
    timeout: number;
    verifyThreads?: number;
    log?: (l: string) => void;
  },
): Promise<{ service: IngestService; stop: () => Promise<void> }> {
  const info = await ctx.chainInfo();
  const identity = ctx.identity(opts.as, info);
  const store = ReadingStore.open(storePath(ctx.dir, info.chainId));
  const service = new IngestService({
    profile: getProfile(info.crypto),
    store,
    devices: { device: (id) => ctx.withNode((c) => new Iot(c).device(id)) },
    anchor: (root, count) =>
      ctx.withNode((c) => new Iot(c).anchor(identity, root, count, opts.timeout)),
    batch: opts.batch,
    everyMs: opts.every,
    deviceTtlMs: opts.deviceTtl,
    verifyThreads: opts.verifyThreads,
    log: opts.log,
  });
  await service.ready();
  let mqtt: Awaited<ReturnType<typeof subscribeMqtt>>;
  try {
    mqtt = await subscribeMqtt(service, opts.broker, opts.topic);
  } catch (e) {
    await service.stop(0);
    await store.close();
    throw new ArchiError(
      'NOT_READY',
      `cannot subscribe to ${opts.topic} on ${opts.broker}: ${(e as Error).message}`,
    );
  }
  return {
    service,
    stop: async () => {
      await mqtt.endAsync();
      await service.stop();
      await store.close();
    },
  };
}

async function ingest(f: IngestFlags): Promise<void> {
  if (!f.broker) throw codedError('IOT_INVALID_ARGS', '--broker mqtt://HOST:PORT is required');
  const ctx = ClientContext.resolve(f);
  const say = (s: ReturnType<IngestService['status']>) =>
    f.json ? printJson({ event: 'status', ...s }, false) : print(formatStatus(s));
  const { service, stop } = await runIngest(ctx, {
    ...f,
    broker: f.broker,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (f.json) printJson({ event: 'subscribed', broker: f.broker, topic: f.topic }, false);
  else
    print(
      `ingest: subscribed to ${f.topic} on ${f.broker} (batches of ${f.batch}, every ${f.every} ms)`,
    );
  const timer = setInterval(() => say(service.status()), f.statusEvery);
  await new Promise<void>((resolve) => {
    const end = () => resolve();
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
  });
  clearInterval(timer);
  await stop();
  say(service.status());
  if (!f.json) print('ingest: stopped');
}

async function prove(
  id: string,
  f: TargetFlags & { out?: string; genesis?: string },
): Promise<void> {
  const ctx = ClientContext.resolve(f);
  const trust = trustOf(f.genesis ?? ctx.genesisPath());
  const info = await ctx.chainInfo();
  const store = ReadingStore.open(storePath(ctx.dir, info.chainId));
  try {
    const file = await ctx.withNode((c) =>
      buildProof(c, store, id, { ...trust, crypto: info.crypto }),
    );
    const out = f.out ?? `reading-${id.slice(0, 16)}.proof.json`;
    writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
    if (f.json)
      printJson({
        file: out,
        reading: id,
        batch: file.batch.seq,
        height: file.query.proof?.height,
      });
    else
      print(
        `wrote ${out}: reading ${id} in batch ${file.batch.seq}, proven at height ${file.query.proof?.height}`,
      );
  } finally {
    await store.close();
  }
}

async function verify(path: string, f: TargetFlags & { genesis?: string }): Promise<void> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw codedError('IOT_BAD_PROOF', `cannot read ${path}: ${(e as Error).message}`);
  }
  // Offline: only the genesis file is read from --dir (or --genesis), no node is asked.
  const trust = trustOf(f.genesis ?? ClientContext.resolve(f).genesisPath());
  const v = await verifyProof(parseProofFile(text), trust);
  if (f.json) {
    printJson(v);
    return;
  }
  print(
    [
      'verified',
      `reading: ${v.reading}`,
      `device: ${v.device.name} (${v.device.id}), owner ${v.device.owner}, ${v.device.curve}, ${v.device.status}`,
      `anchored: batch ${v.anchored.seq} at height ${v.anchored.height}, ${v.anchored.iso} by ${v.anchored.org}`,
      `proof: height ${v.proofHeight}, block ${v.blockHash.slice(0, 16)}…, header signed by the genesis validators`,
    ].join('\n'),
  );
}

/** Adds `archi iot ...` to the program. */
export function register(program: Command): void {
  const iot = program
    .command('iot')
    .description('IoT readings over MQTT: devices, ingest, anchored batches, proofs');
  const device = iot.command('device').description('devices registered on chain');

  addSigningOptions(
    device
      .command('add')
      .description('make a key pair for a device and register its public key')
      .argument('<name>', 'the device name (unique in the organization)')
      .requiredOption('--out <file>', 'where to write the device key file (mode 0600)'),
    'identity to sign with (the owner organization)',
  ).action(addDevice);

  for (const [name, on] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    addSigningOptions(
      device
        .command(name)
        .description(`${name} a device (its owner organization only)`)
        .argument('<device>', 'device id, or the name of a device of the --as organization'),
      'identity to sign with (the owner organization)',
    ).action((ref: string, f: SignFlags) => setEnabled(ref, on, f));
  }

  addTargetOptions(
    device
      .command('list')
      .description('the devices in registration order (100 per page)')
      .option('--page <n>', 'page number (from 0)', intOption('--page', 0, 999_999), 0),
  ).action(async (f: TargetFlags & { page: number }) => {
    const p = await ClientContext.resolve(f).withNode((c) => new Iot(c).devices(f.page));
    if (f.json) printJson(p);
    else
      print(
        formatTable(
          ['ID', 'NAME', 'OWNER', 'CURVE', 'STATUS'],
          p.devices.map((d) => [d.id, d.name, d.owner, d.curve, d.status]),
        ),
      );
  });

  iot
    .command('sign')
    .description('print the signed reading message a device sends (JSON with its id)')
    .requiredOption('--key <file>', 'the device key file')
    .requiredOption('--data <json>', 'the reading (any JSON)')
    .option('--seq <n>', 'a device-side counter', intOption('--seq', 0, Number.MAX_SAFE_INTEGER))
    .option(
      '--ts <ms>',
      'device time in ms (default: now)',
      intOption('--ts', 0, Number.MAX_SAFE_INTEGER),
    )
    .action((f: { key: string; data: string; seq?: number; ts?: number }) => {
      const key = loadDeviceKey(f.key);
      const data = parseJsonText(f.data, '--data');
      printJson(
        signReading(key.profile, key.signer, key.file.device, { data, seq: f.seq, ts: f.ts }),
        false,
      );
    });

  addTargetOptions(
    iot
      .command('ingest')
      .description('subscribe to readings over MQTT, check, store and anchor them in batches')
      .option('--broker <url>', 'mqtt://HOST:PORT')
      .option('--topic <filter>', 'MQTT topic filter', 'factory/+/readings')
      .option('--batch <n>', 'readings per anchored batch', intOption('--batch', 1, 100_000), 1000)
      .option(
        '--every <ms>',
        'anchor at least this often',
        intOption('--every', 10, 3_600_000),
        500,
      )
      .option(
        '--status-every <ms>',
        'print counters this often',
        intOption('--status-every', 100, 3_600_000),
        5000,
      )
      .option(
        '--device-ttl <ms>',
        'how long a device record is cached',
        intOption('--device-ttl', 0, 3_600_000),
        1000,
      )
      .option(
        '--verify-threads <n>',
        'worker threads that check device signatures',
        intOption('--verify-threads', 1, 64),
        1,
      )
      .option('--as <org/user>', 'identity that anchors batches', DEFAULT_IDENTITY)
      .option(
        '--timeout <ms>',
        'how long to wait for each anchor commit',
        intOption('--timeout', 1, 300_000),
        30_000,
      ),
  ).action(ingest);

  addTargetOptions(
    iot
      .command('batches')
      .description('anchored batches, newest first (100 per page)')
      .option('--page <n>', 'page number (from 0)', intOption('--page', 0, 999_999), 0),
  ).action(async (f: TargetFlags & { page: number }) => {
    const p = await ClientContext.resolve(f).withNode((c) => new Iot(c).batches(f.page));
    if (f.json) printJson(p);
    else
      print(
        formatTable(
          ['SEQ', 'COUNT', 'HEIGHT', 'TIME', 'ORG', 'ROOT'],
          p.batches.map((b) => [
            String(b.seq),
            String(b.count),
            String(b.height),
            new Date(b.time).toISOString(),
            b.org,
            b.root,
          ]),
        ),
      );
  });

  addTargetOptions(
    iot
      .command('prove')
      .description("write a reading's proof file (from the ingest store and a node's state proofs)")
      .argument('<reading-id>', 'the reading id (64 hex)')
      .option('--out <file>', 'where to write it (default: reading-<id>.proof.json)')
      .option('--genesis <file>', "the chain's genesis file (default: the one in --dir)"),
  ).action(prove);

  addTargetOptions(
    iot
      .command('verify')
      .description('check a reading proof file offline against the genesis validators')
      .argument('<file>', 'the proof file')
      .option('--genesis <file>', "the chain's genesis file (default: the one in --dir)"),
  ).action(verify);
}

/**
 * `archi up --apps`: when the iot contract runs, an embedded aedes broker on 127.0.0.1 and
 * an ingest service (topic `factory/+/readings`) in the `up` process; its URL is written to
 * DIR/iot/broker.json. Failures are told and never stop the network.
 */
export async function startIotOnUp(
  dir: string,
  say: (l: string) => void,
  warn: (l: string) => void,
): Promise<void> {
  try {
    const ctx = ClientContext.resolve({ dir });
    await ctx.withNode((c) => new Iot(c).stats());
    const broker = await startBroker();
    const topic = 'factory/+/readings';
    await runIngest(ctx, {
      as: DEFAULT_IDENTITY,
      broker: broker.url,
      topic,
      batch: 1000,
      every: 500,
      deviceTtl: 1000,
      timeout: 30_000,
    });
    writeFileSync(`${ctx.dir}/iot/broker.json`, `${JSON.stringify({ url: broker.url, topic })}\n`);
    say(`  iot: broker ${broker.url} (aedes), ingest on ${topic}`);
  } catch (e) {
    const line = e instanceof ArchiError ? `${e.code}: ${e.message}` : (e as Error).message;
    warn(`iot broker and ingest not started: ${line}`);
  }
}
