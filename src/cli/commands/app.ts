/**
 * `archi app create|list|show|usage|set-quota|deploy|call`: applications on the gateway.
 *
 * The operator's commands (create, list, show, usage, set-quota) use DIR/gateway/admin.token.
 * The app's own commands (deploy, call) use only the app's credentials in DIR/apps/<id>/ and
 * go through the gateway like any app would: signed envelopes, verified answers.
 *
 * `create` in public-key upload mode (the default) makes the app's keys here, in the chain's
 * crypto profile: the access key and the identity `default` (a CSR on cert-mode chains, the
 * public key on key-mode chains); only public halves are sent. In key-trust mode the gateway
 * makes the keys and hands the access key over once.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { getProfile } from '../../crypto/profile.ts';
import { remoteError } from '../../sdk/errors.ts';
import {
  appIdentity,
  type CreatedApp,
  type GatewayAppFile,
  GatewayClient,
  type GatewayError,
  type GatewayKeyMode,
  type GatewayUsage,
  makeUploadKeys,
  readAppFile,
} from '../../sdk/gateway-client.ts';
import { ArchiError } from '../../types/errors.ts';
import { parseJsonText } from '../../types/json.ts';
import { buildContract } from '../../vm/sandbox/build.ts';
import { ClientContext, DEFAULT_DIR, intOption } from '../client-context.ts';
import { formatTable } from './client.ts';
import { addGatewayOptions, adminClient, gatewayRecord, print, printJson } from './gateway.ts';

interface Flags {
  dir: string;
  gateway?: string;
  json?: boolean;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** DIR/apps, where each app's credentials live. */
function appsDir(dir: string): string {
  return join(resolve(dir ?? DEFAULT_DIR), 'apps');
}

/** A quota flag's value: a positive integer, or "none" for no limit. */
type Quota = number | 'none';

/** Quota flag parser (commander turns a null from a parser into "", hence the word). */
function quotaOption(flag: string): (v: string) => Quota {
  const int = intOption(flag, 1, 1_000_000_000);
  return (v: string) => (v === 'none' ? 'none' : int(v));
}

/** The quota as the gateway takes it: null is no limit, undefined leaves it as it is. */
function quotaValue(q: Quota | undefined): number | null | undefined {
  return q === 'none' ? null : q;
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The local app directory of `idOrName` (DIR/apps/<id>/app.json). */
export function localApp(dir: string, idOrName: string): { dir: string; app: GatewayAppFile } {
  const root = appsDir(dir);
  const found: Array<{ dir: string; app: GatewayAppFile }> = [];
  const entries = existsSync(root) ? readdirSync(root, { withFileTypes: true }) : [];
  for (const e of entries) {
    if (!e.isDirectory() || !existsSync(join(root, e.name, 'app.json'))) continue;
    const app = readAppFile(join(root, e.name));
    if (app.id === idOrName) return { dir: join(root, e.name), app };
    if (app.name === idOrName) found.push({ dir: join(root, e.name), app });
  }
  if (found.length === 1) return found[0];
  if (found.length > 1) {
    throw new ArchiError(
      'INVALID_ARGS',
      `several apps are named ${idOrName} (${found.map((f) => f.app.id).join(', ')}): pass --app ID`,
    );
  }
  throw new ArchiError(
    'GW_NOT_FOUND',
    `no app ${idOrName} in ${root} (the app's credentials are written there by archi app create)`,
  );
}

/** The id of an app named by id or name: the local directory first, else the gateway's list. */
async function appId(flags: Flags, idOrName: string): Promise<string> {
  try {
    return localApp(flags.dir, idOrName).app.id;
  } catch (e) {
    if (!(e instanceof ArchiError) || e.code !== 'GW_NOT_FOUND') throw e;
  }
  const apps = await adminClient(flags.dir, flags.gateway).apps();
  const byId = apps.find((a) => a.id === idOrName);
  if (byId) return byId.id;
  const named = apps.filter((a) => a.name === idOrName);
  if (named.length === 1) return named[0].id;
  if (named.length > 1) {
    throw new ArchiError(
      'INVALID_ARGS',
      `several apps are named ${idOrName} (${named.map((a) => a.id).join(', ')}): pass --app ID`,
    );
  }
  throw new ArchiError('GW_NOT_FOUND', `the gateway has no app ${idOrName}`);
}

/** The app's client: URL from --gateway, else network.json's record (current), else app.json's. */
function appClient(flags: Flags & { app: string }): {
  client: GatewayClient;
  app: GatewayAppFile;
  dir: string;
} {
  const local = localApp(flags.dir, flags.app);
  const url = flags.gateway ?? gatewayRecord(resolve(flags.dir))?.url ?? local.app.gateway.url;
  return { client: GatewayClient.fromAppDir(local.dir, { url }), app: local.app, dir: local.dir };
}

// ------------------------------------------------------------------------------ create

interface CreateFlags extends Flags {
  tenant: string;
  name: string;
  chain?: string;
  mode: GatewayKeyMode;
  namespace?: string;
  tps?: Quota;
  tpd?: Quota;
}

async function create(flags: CreateFlags): Promise<void> {
  if (flags.mode !== 'upload' && flags.mode !== 'trust') {
    throw new ArchiError('INVALID_ARGS', `--mode must be upload or trust, got "${flags.mode}"`);
  }
  const dir = resolve(flags.dir);
  const ctx = ClientContext.resolve({ dir, chain: flags.chain });
  const info = await ctx.chainInfo();
  const admin = adminClient(dir, flags.gateway);
  const keys = flags.mode === 'upload' ? makeUploadKeys(info.crypto, info.identityMode) : undefined;
  const created: CreatedApp = await admin.createApp({
    tenant: flags.tenant,
    name: flags.name,
    chain: info.chainId,
    mode: flags.mode,
    namespace: flags.namespace,
    tps: quotaValue(flags.tps) ?? undefined,
    tpd: quotaValue(flags.tpd) ?? undefined,
    ...(keys ? keys.upload : {}),
  });
  const app = created.app;
  const appDir = join(dir, 'apps', app.id);
  mkdirSync(appDir, { recursive: true, mode: 0o700 });
  const file: GatewayAppFile = {
    id: app.id,
    name: app.name,
    tenant: app.tenantId,
    chain: app.chainId,
    mode: app.mode,
    namespace: app.namespace,
    crypto: app.crypto,
    identityMode: info.identityMode,
    gateway: {
      url: created.gateway.url ?? admin.url,
      id: created.gateway.id,
      org: created.gateway.org,
      publicKeys: created.gateway.publicKeys,
    },
  };
  writeFileSync(join(appDir, 'app.json'), `${JSON.stringify(file, null, 2)}\n`);
  const profile = getProfile(app.crypto);
  if (keys) {
    writeSecret(join(appDir, 'access.key.pem'), keys.access.privateKeyPem);
    writeFileSync(join(appDir, 'access.pub.pem'), keys.access.publicKeyPem);
  } else if (created.accessPrivateKey) {
    writeSecret(join(appDir, 'access.key.pem'), created.accessPrivateKey);
    const pub = profile.signerFromPem(created.accessPrivateKey).publicKey;
    writeFileSync(join(appDir, 'access.pub.pem'), profile.publicKeyToPem(pub));
  } else {
    throw new ArchiError('INTERNAL', 'the gateway made a key-trust app but sent no access key');
  }
  // Each identity's public side (and in upload mode its private key, which never left here).
  for (const id of created.identities) {
    const idDir = join(appDir, 'identities', id.name);
    mkdirSync(idDir, { recursive: true, mode: 0o700 });
    const own = keys?.identities.find((k) => k.name === id.name);
    if (own) writeSecret(join(idDir, 'key.pem'), own.privateKeyPem);
    if (id.cert) writeFileSync(join(idDir, 'cert.pem'), id.cert);
    else writeFileSync(join(idDir, 'public.hex'), `${id.publicKey}\n`);
  }
  const out = {
    ...file,
    tps: app.tps,
    tpd: app.tpd,
    dir: appDir,
    identities: created.identities.map((i) => ({
      name: i.name,
      org: i.org,
      publicKey: i.publicKey,
    })),
  };
  if (flags.json) {
    printJson(out);
    return;
  }
  print(
    [
      `created app ${app.name} (${app.id}) of tenant ${app.tenantId} on chain ${app.chainId}`,
      `mode: ${app.mode === 'upload' ? 'public-key upload (its private keys were made here and never sent)' : 'key trust (the gateway keeps its keys; the access key is written here, this once)'}`,
      `namespace: ${app.namespace} (its contracts are ${app.namespace}_<name> on chain)`,
      `quota: ${app.tps ?? 'no limit'} tx/s, ${app.tpd ?? 'no limit'} tx/day`,
      `credentials: ${appDir}`,
    ].join('\n'),
  );
}

// ------------------------------------------------------------------------------ views

function formatUsage(u: GatewayUsage): string {
  const cols = ['DAY', 'TXS', 'QUERIES', 'GAS', 'BYTES WRITTEN', 'REJECTED'];
  const line = (day: string, c: GatewayUsage['total']) => [
    day,
    String(c.txs),
    String(c.queries),
    String(c.gas),
    String(c.bytesWritten),
    String(c.rejected),
  ];
  return formatTable(cols, [...u.rows.map((r) => line(r.day, r)), line('total', u.total)]);
}

function usageCsvOf(u: GatewayUsage): string {
  const head = 'day,app_id,tenant_id,txs,queries,gas,bytes_written,rejected';
  return [
    head,
    ...u.rows.map((r) =>
      [r.day, r.appId, r.tenantId, r.txs, r.queries, r.gas, r.bytesWritten, r.rejected].join(','),
    ),
  ].join('\n');
}

// ------------------------------------------------------------------------------ deploy

interface DeployFlags extends Flags {
  app: string;
  upgrade?: boolean;
  minify?: boolean;
  timeout: number;
}

async function bundle(file: string, minify?: boolean): Promise<string> {
  if (/\.(c|m)?js$/.test(file)) {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new ArchiError('BAD_REQUEST', `cannot read ${file}: ${(e as Error).message}`);
    }
  }
  return (await buildContract(file, { minify })).code;
}

async function deploy(name: string, file: string, flags: DeployFlags): Promise<void> {
  const code = await bundle(file, flags.minify);
  const { client, app } = appClient(flags);
  const r = await client.deploy(name, code, { upgrade: flags.upgrade, timeoutMs: flags.timeout });
  if (flags.json) {
    printJson(r);
    return;
  }
  if (r.status === 'deployed') {
    print(
      [
        `${flags.upgrade ? 'upgraded' : 'deployed'} ${r.contract.name} v${r.contract.version} for app ${app.name} in block ${r.height}`,
        `txId: ${r.txId}`,
        `codeHash: ${r.contract.codeHash}`,
        `methods: ${r.contract.methods.join(', ')}`,
      ].join('\n'),
    );
  } else {
    const p = r.proposal as { id?: unknown; kind?: unknown };
    print(
      `proposed ${String(p.kind ?? 'contract_deploy')} as proposal ${String(p.id)}: the chain's lifecycle policy needs more organizations; their admins approve with archi gov approve ${String(p.id)}`,
    );
  }
}

// ------------------------------------------------------------------------------ call

interface CallFlags extends Flags {
  app: string;
  contract: string;
  method: string;
  args?: string;
  wait?: boolean;
  query?: boolean;
  prove?: boolean;
  as?: string;
  gas?: number;
  timeout: number;
}

/** The on-chain name of the app's contract `c` (short names get the namespace). */
function fullName(app: GatewayAppFile, c: string): string {
  return c.startsWith(`${app.namespace}_`) ? c : `${app.namespace}_${c}`;
}

async function callOrQuery(flags: CallFlags): Promise<unknown> {
  const args = parseJsonText(flags.args ?? '{}', '--args');
  const { client, app, dir } = appClient(flags);
  const contract = fullName(app, flags.contract);
  if (flags.query) {
    if (flags.prove) {
      const result = await client.queryVerified(contract, flags.method, args);
      return { result, verified: true };
    }
    return client.query(contract, flags.method, args);
  }
  const call = { contract, method: flags.method, args, gasLimit: flags.gas };
  const opts = { wait: flags.wait, timeoutMs: flags.wait ? flags.timeout : undefined };
  if (app.mode === 'upload') {
    return client.send(appIdentity(dir, flags.as ?? 'default'), call, opts);
  }
  return client.call(call, { ...opts, identity: flags.as });
}

async function callCommand(flags: CallFlags): Promise<void> {
  let out: unknown;
  try {
    out = await callOrQuery(flags);
  } catch (e) {
    if (!(e instanceof ArchiError)) throw e;
    const err = e as GatewayError;
    const retry = err.retryAfterMs === undefined ? '' : ` (retry after ${err.retryAfterMs} ms)`;
    if (flags.json) {
      printJson({
        error: {
          code: err.code,
          message: err.message,
          ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
        },
      });
    }
    throw Object.assign(new ArchiError(err.code, `${err.message}${retry}`), {
      retryAfterMs: err.retryAfterMs,
    });
  }
  const answer = out as {
    txId?: string;
    status?: string;
    height?: number;
    receipt?: {
      status: string;
      code: string;
      message: string;
      result: unknown;
      gasUsed: number;
      events: Array<{ contract: string; name: string; data: unknown }>;
    };
    result?: unknown;
    verified?: boolean;
  };
  if (flags.json) printJson(answer);
  else if (flags.query) {
    print(JSON.stringify(answer.result, null, 2) ?? 'null');
    if (answer.verified) print('verified: true');
  } else if (!answer.receipt) print(answer.txId ?? '');
  else {
    const r = answer.receipt;
    const lines = [`txId: ${answer.txId}`, `status: ${r.status}`];
    if (r.status !== 'ok') lines.push(`code: ${r.code}`, `message: ${r.message}`);
    lines.push(
      `height: ${answer.height}`,
      `gasUsed: ${r.gasUsed}`,
      `result: ${JSON.stringify(r.result)}`,
    );
    if (r.events?.length) {
      lines.push('events:');
      for (const ev of r.events)
        lines.push(`  ${ev.contract}.${ev.name} ${JSON.stringify(ev.data)}`);
    }
    print(lines.join('\n'));
  }
  const r = answer.receipt;
  if (r && r.status !== 'ok') {
    throw remoteError(r.code, `tx ${answer.txId} failed in block ${answer.height}: ${r.message}`);
  }
}

// ------------------------------------------------------------------------------ register

/** Register `archi app ...`. */
export function register(program: Command): void {
  const app = program
    .command('app')
    .description('applications on the gateway: keys, quotas, usage, calls');

  addGatewayOptions(
    app
      .command('create')
      .description('create an app on a chain; its credentials go to DIR/apps/<id>/')
      .requiredOption('--tenant <tenant>', 'the owning tenant (id or name)')
      .requiredOption('--name <name>', 'app name')
      .option('--chain <id>', "its chain (default: the network's first chain)")
      .option(
        '--mode <mode>',
        'key mode: upload (the app keeps its keys) or trust (the gateway keeps them)',
        'upload',
      )
      .option('--namespace <ns>', 'contract namespace (default: from the name)')
      .option('--tps <n>', 'transactions per second (default: no limit)', quotaOption('--tps'))
      .option('--tpd <n>', 'transactions per UTC day (default: no limit)', quotaOption('--tpd')),
  ).action(create);

  addGatewayOptions(
    app
      .command('list')
      .description('the apps on the gateway')
      .option('--tenant <tenant>', 'only this tenant'),
  ).action(async (flags: Flags & { tenant?: string }) => {
    const list = await adminClient(flags.dir, flags.gateway).apps({ tenant: flags.tenant });
    if (flags.json) {
      printJson(list);
      return;
    }
    if (list.length === 0) {
      print('no apps yet (archi app create --tenant T --name A)');
      return;
    }
    print(
      formatTable(
        ['ID', 'NAME', 'TENANT', 'CHAIN', 'MODE', 'NAMESPACE', 'TPS', 'TPD'],
        list.map((a) => [
          a.id,
          a.name,
          a.tenantId,
          a.chainId,
          a.mode,
          a.namespace,
          a.tps === null ? '-' : String(a.tps),
          a.tpd === null ? '-' : String(a.tpd),
        ]),
      ),
    );
  });

  addGatewayOptions(
    app
      .command('show')
      .description("an app, its identities and today's usage")
      .requiredOption('--app <app>', 'app id or name'),
  ).action(async (flags: Flags & { app: string }) => {
    const shown = await adminClient(flags.dir, flags.gateway).app(await appId(flags, flags.app));
    if (flags.json) {
      printJson(shown);
      return;
    }
    const a = shown.app;
    const u = shown.usageToday;
    print(
      [
        `id: ${a.id}`,
        `name: ${a.name}`,
        `tenant: ${a.tenantId}`,
        `chain: ${a.chainId} (${a.crypto})`,
        `mode: ${a.mode}`,
        `namespace: ${a.namespace}`,
        `quota: ${a.tps ?? 'no limit'} tx/s, ${a.tpd ?? 'no limit'} tx/day`,
        `today: ${u.txs} txs, ${u.queries} queries, ${u.gas} gas, ${u.bytesWritten} bytes written, ${u.rejected} rejected`,
        'identities:',
        ...shown.identities.map(
          (i) =>
            `  ${i.name}  ${i.org}  ${i.cert ? 'certificate' : 'key'} ${i.publicKey.slice(0, 16)}…`,
        ),
      ].join('\n'),
    );
  });

  addGatewayOptions(
    app
      .command('usage')
      .description("an app's usage per UTC day: txs, queries, gas, bytes written, rejected")
      .requiredOption('--app <app>', 'app id or name')
      .option('--from <day>', 'first day, YYYY-MM-DD')
      .option('--to <day>', 'last day, YYYY-MM-DD')
      .option('--csv', 'CSV output'),
  ).action(async (flags: Flags & { app: string; from?: string; to?: string; csv?: boolean }) => {
    for (const [flag, v] of [
      ['--from', flags.from],
      ['--to', flags.to],
    ] as const) {
      if (v !== undefined && !DAY.test(v))
        throw new ArchiError('INVALID_ARGS', `${flag} must be YYYY-MM-DD, got "${v}"`);
    }
    const range = { from: flags.from, to: flags.to };
    // The operator's view when the token is here; else the app asks for its own (a query itself).
    let usage: GatewayUsage;
    if (existsSync(join(resolve(flags.dir), 'gateway', 'admin.token'))) {
      const admin = adminClient(flags.dir, flags.gateway);
      const id = await appId(flags, flags.app);
      if (flags.csv) {
        print(await admin.usageCsv({ app: id, ...range }));
        return;
      }
      usage = await admin.usage({ app: id, ...range });
    } else {
      usage = await appClient(flags).client.usage(range);
      if (flags.csv) {
        print(usageCsvOf(usage));
        return;
      }
    }
    if (flags.json) printJson(usage);
    else print(formatUsage(usage));
  });

  addGatewayOptions(
    app
      .command('set-quota')
      .description("change an app's quotas now (every gateway on the database applies them)")
      .requiredOption('--app <app>', 'app id or name')
      .option('--tps <n>', 'transactions per second, or "none"', quotaOption('--tps'))
      .option('--tpd <n>', 'transactions per UTC day, or "none"', quotaOption('--tpd')),
  ).action(async (flags: Flags & { app: string; tps?: Quota; tpd?: Quota }) => {
    if (flags.tps === undefined && flags.tpd === undefined) {
      throw new ArchiError('INVALID_ARGS', 'give --tps and/or --tpd (a number, or none)');
    }
    const quota: { tps?: number | null; tpd?: number | null } = {};
    if (flags.tps !== undefined) quota.tps = quotaValue(flags.tps);
    if (flags.tpd !== undefined) quota.tpd = quotaValue(flags.tpd);
    const a = await adminClient(flags.dir, flags.gateway).setQuota(
      await appId(flags, flags.app),
      quota,
    );
    if (flags.json) printJson(a);
    else
      print(`app ${a.name} (${a.id}): ${a.tps ?? 'no limit'} tx/s, ${a.tpd ?? 'no limit'} tx/day`);
  });

  addGatewayOptions(
    app
      .command('deploy')
      .description(
        "deploy (or --upgrade) the app's contract through the gateway; a .ts file is bundled first",
      )
      .requiredOption('--app <app>', 'app id or name (its credentials in DIR/apps/)')
      .argument('<name>', "contract name in the app's namespace (short or full)")
      .argument('<file>', 'contract source (.ts) or bundle (.js)')
      .option('--upgrade', 'replace the code of a deployed contract (its state is kept)')
      .option('--minify', 'minify the bundle')
      .option(
        '--timeout <ms>',
        'how long to wait for the commit',
        intOption('--timeout', 1, 300_000),
        30_000,
      ),
  ).action(deploy);

  addGatewayOptions(
    app
      .command('call')
      .description(
        "call (or --query) the app's contract through the gateway with the app's credentials",
      )
      .requiredOption('--app <app>', 'app id or name (its credentials in DIR/apps/)')
      .requiredOption('--contract <name>', "contract (short name in the app's namespace, or full)")
      .requiredOption('--method <name>', 'method')
      .option('--args <json>', 'arguments as JSON', '{}')
      .option('--wait', 'wait for the commit and print the receipt')
      .option('--query', 'a read-only query instead of a tx')
      .option('--prove', 'with --query: verify the answer against the block header')
      .option(
        '--as <identity>',
        "the app's transaction identity (default: default / the app's first)",
      )
      .option('--gas <n>', 'gas limit', intOption('--gas', 1, Number.MAX_SAFE_INTEGER))
      .option(
        '--timeout <ms>',
        'how long --wait waits',
        intOption('--timeout', 1, 300_000),
        30_000,
      ),
  ).action(callCommand);
}
