/**
 * `archi data ...`: trusted data sharing (docs/apps/datashare.md). A provider publishes a
 * file encrypted under a fresh key into a content-addressed store and registers it on chain;
 * grants carry the key sealed to each grantee user's key found on chain; a fetch is a tx the
 * contract refuses without a live grant and that records the audit entry, and only after it
 * commits is the key opened and the file decrypted and checked. Refusals print their stable
 * DATA_* code and exit 1.
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { Datashare, type FetchAnswer } from '../../apps/datashare/client.ts';
import { decryptDataset, encryptDataset, openKey, sealKey } from '../../apps/datashare/crypto.ts';
import { type Recipient, recipientsOf } from '../../apps/datashare/recipients.ts';
import {
  type AuditEntry,
  type DatasetRecord,
  type GrantView,
  isDatasetName,
  MAX_SCHEMA,
  MAX_TERMS,
  type MemberRecord,
} from '../../apps/datashare/rules.ts';
import { defaultStore, getBlob, putBlob } from '../../apps/datashare/store.ts';
import { type CryptoProfile, getProfile } from '../../crypto/profile.ts';
import type { ArchiClient } from '../../sdk/client.ts';
import { codedError } from '../../sdk/errors.ts';
import type { Identity } from '../../sdk/identity.ts';
import { hex } from '../../types/hex.ts';
import { orgProfileBase } from '../chain-layout.ts';
import {
  addSigningOptions,
  addTargetOptions,
  type ChainInfo,
  ClientContext,
  cliOutput,
  intOption,
  type TargetFlags,
} from '../client-context.ts';
import { formatTable } from './client.ts';

/** The largest file `publish` takes: it is encrypted in memory. */
const MAX_FILE = 512 * 1024 * 1024;

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

interface SignFlags extends TargetFlags {
  as: string;
  timeout: number;
}

/** What a signing command works with: the chain, the signer and its private key. */
interface Signing {
  ctx: ClientContext;
  info: ChainInfo;
  profile: CryptoProfile;
  identity: Identity;
  keyPem: string;
}

async function signing(f: SignFlags): Promise<Signing> {
  const ctx = ClientContext.resolve(f);
  const info = await ctx.chainInfo();
  const identity = ctx.identity(f.as, info);
  const [org, user] = f.as.split('/');
  const base = orgProfileBase(org, info.crypto, ctx.network?.crypto ?? info.crypto);
  const keyPem = readFileSync(join(ctx.dir, base, 'users', user, 'key.pem'), 'utf8');
  return { ctx, info, profile: getProfile(info.crypto), identity, keyPem };
}

function nameArg(name: string): string {
  if (!isDatasetName(name)) {
    throw codedError(
      'DATA_INVALID_ARGS',
      `${JSON.stringify(name)} is not a dataset name (1-64 of a-z 0-9 . _ -, starting with a letter or digit)`,
    );
  }
  return name;
}

async function knownDataset(ds: Datashare, name: string): Promise<DatasetRecord> {
  const d = await ds.dataset(nameArg(name));
  if (!d) throw codedError('DATA_UNKNOWN', `no dataset ${name}`);
  return d;
}

function storeOf(s: { ctx: ClientContext; info: ChainInfo }, flag?: string): string {
  return flag ? resolve(flag) : defaultStore(s.ctx.dir, s.info.chainId);
}

/** `--schema`/`--terms`: the text, or `@FILE` for a file's text. */
function textOption(v: string | undefined, flag: string, max: number): string | undefined {
  if (v === undefined) return undefined;
  let text = v;
  if (v.startsWith('@')) {
    try {
      text = readFileSync(v.slice(1), 'utf8');
    } catch (e) {
      throw codedError(
        'DATA_INVALID_ARGS',
        `${flag}: cannot read ${v.slice(1)} (${(e as Error).message})`,
      );
    }
  }
  if (text.length > max) {
    throw codedError(
      'DATA_INVALID_ARGS',
      `${flag} holds ${text.length} characters; at most ${max}`,
    );
  }
  return text;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--until`: `+<n><s|m|h|d>` from now, an ISO 8601 time, or ms since the epoch. */
export function parseUntil(v: string, now = Date.now()): number {
  const rel = /^\+([0-9]{1,9})([smhd])$/.exec(v);
  if (rel) return now + Number(rel[1]) * UNITS[rel[2]];
  if (/^[0-9]{10,16}$/.test(v)) return Number(v);
  const t = /^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(t)) {
    throw codedError(
      'DATA_INVALID_ARGS',
      `--until must be +<n><s|m|h|d>, an ISO 8601 time or ms since the epoch, got ${JSON.stringify(v)}`,
    );
  }
  return t;
}

/** `--to ORG` or `--to ORG/USER`. */
function granteeArg(v: string): { org: string; user?: string } {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)(?:\/([A-Za-z0-9][A-Za-z0-9._@-]*))?$/.exec(v);
  if (!m)
    throw codedError('DATA_INVALID_ARGS', `--to must be ORG or ORG/USER, got ${JSON.stringify(v)}`);
  return { org: m[1], user: m[2] };
}

function readInput(path: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch (e) {
    throw codedError('DATA_INVALID_ARGS', `cannot read ${path}: ${(e as Error).message}`);
  }
  if (size > MAX_FILE) {
    throw codedError(
      'DATA_INVALID_ARGS',
      `${path} is ${size} bytes; publish takes at most ${MAX_FILE}`,
    );
  }
  return new Uint8Array(readFileSync(path));
}

function sealAll(
  profile: CryptoProfile,
  to: Recipient[],
  key: Uint8Array,
  name: string,
  version: number,
): Record<string, string> {
  return Object.fromEntries(
    to.map((r) => [r.user, sealKey(profile, r.publicKey, key, name, version)]),
  );
}

interface PublishFlags extends SignFlags {
  name: string;
  schema?: string;
  terms?: string;
  store?: string;
  replace?: boolean;
  drop?: string[];
}

/** The grants re-publishing carries: each live grant's users still with a usable key. */
async function carriedGrants(
  client: ArchiClient,
  profile: CryptoProfile,
  d: DatasetRecord,
  key: Uint8Array,
  drop: string[],
): Promise<{ grants: Record<string, Record<string, string>>; dropped: string[] }> {
  const grants: Record<string, Record<string, string>> = {};
  const dropped: string[] = [];
  for (const g of await new Datashare(client).grants(d.name)) {
    if (g.state !== 'live') continue;
    if (drop.includes(g.org)) {
      dropped.push(g.org);
      continue;
    }
    let to: Recipient[];
    try {
      to = (await recipientsOf(client, profile, g.org)).filter((r) => g.users.includes(r.user));
    } catch {
      to = [];
    }
    if (to.length === 0) dropped.push(g.org);
    else grants[g.org] = sealAll(profile, to, key, d.name, d.version + 1);
  }
  return { grants, dropped };
}

async function publish(file: string, f: PublishFlags): Promise<void> {
  const name = nameArg(f.name);
  const schema = textOption(f.schema, '--schema', MAX_SCHEMA);
  const terms = textOption(f.terms, '--terms', MAX_TERMS);
  const plaintext = readInput(file);
  const s = await signing(f);
  const store = storeOf(s, f.store);
  const out = await s.ctx.withNode(async (client) => {
    const ds = new Datashare(client);
    const old = await ds.dataset(name);
    if (old && !f.replace) {
      throw codedError(
        'DATA_EXISTS',
        `${name} is published by ${old.owner} (v${old.version}); its owner re-publishes it with --replace`,
      );
    }
    if (!old && f.replace) throw codedError('DATA_UNKNOWN', `no dataset ${name} to replace`);
    if (old && old.owner !== s.identity.org) {
      throw codedError('DATA_NOT_OWNER', `${name} belongs to ${old.owner}, not ${s.identity.org}`);
    }
    const version = old ? old.version + 1 : 1;
    const e = encryptDataset(s.profile, plaintext);
    const args: Record<string, unknown> = {
      name,
      size: plaintext.length,
      plainHash: e.plainHash,
      cipherHash: e.cipherHash,
      cipherSize: e.ciphertext.length,
      ownerKey: sealKey(s.profile, s.identity.publicKey, e.key, name, version),
    };
    if (schema !== undefined) args.schema = schema;
    if (terms !== undefined) args.terms = terms;
    let dropped: string[] = [];
    if (old) {
      const c = await carriedGrants(client, s.profile, old, e.key, f.drop ?? []);
      args.grants = c.grants;
      dropped = c.dropped;
    }
    // The ciphertext is in the store before the chain names it, so a fetch never misses it.
    putBlob(store, e.cipherHash, e.ciphertext);
    const r = await ds.send<DatasetRecord>(s.identity, old ? 'republish' : 'publish', args, {
      timeoutMs: f.timeout,
    });
    return { ...r, dropped };
  });
  const d = out.result;
  if (f.json) {
    printJson({ txId: out.txId, height: out.height, store, revoked: out.dropped, dataset: d });
    return;
  }
  print(
    [
      `${f.replace ? 're-published' : 'published'} ${d.name} v${d.version} in block ${out.height}: ${d.size} bytes, ${d.cipher}`,
      `  plaintext ${d.hash} ${d.plainHash}`,
      `  stored    ${d.cipherHash} (${d.cipherSize} bytes) in ${store}`,
      ...(out.dropped.length ? [`  grants revoked by the new key: ${out.dropped.join(', ')}`] : []),
    ].join('\n'),
  );
}

interface GrantFlags extends SignFlags {
  to: string;
  until?: string;
}

async function grant(name: string, f: GrantFlags): Promise<void> {
  nameArg(name);
  const to = granteeArg(f.to);
  const until = f.until === undefined ? undefined : parseUntil(f.until);
  const s = await signing(f);
  const r = await s.ctx.withNode(async (client) => {
    const ds = new Datashare(client);
    const d = await knownDataset(ds, name);
    if (d.owner !== s.identity.org) {
      throw codedError('DATA_NOT_OWNER', `${name} belongs to ${d.owner}, not ${s.identity.org}`);
    }
    let key: Uint8Array;
    try {
      key = openKey(s.profile, s.keyPem, d.ownerKey, d.name, d.version);
    } catch {
      throw codedError(
        'DATA_NOT_OWNER',
        `only ${d.owner}/${d.publisher}, who published ${name} v${d.version}, holds its key; grant --as that user`,
      );
    }
    const recipients = await recipientsOf(client, s.profile, to.org, to.user);
    const args: Record<string, unknown> = {
      name,
      org: to.org,
      keys: sealAll(s.profile, recipients, key, d.name, d.version),
    };
    if (until !== undefined) args.until = until;
    return ds.send<GrantView>(s.identity, 'grant', args, { timeoutMs: f.timeout });
  });
  const g = r.result;
  if (f.json) printJson({ txId: r.txId, height: r.height, ...g });
  else
    print(
      `granted ${name} to ${g.org} (${g.users.join(', ')}) in block ${r.height}${g.until === null ? '' : `, until ${new Date(g.until).toISOString()} (block time)`}`,
    );
}

async function revoke(name: string, f: SignFlags & { from: string }): Promise<void> {
  nameArg(name);
  const s = await signing(f);
  const r = await s.ctx.withNode((client) =>
    new Datashare(client).send<GrantView>(
      s.identity,
      'revoke',
      { name, org: f.from },
      { timeoutMs: f.timeout },
    ),
  );
  if (f.json) printJson({ txId: r.txId, height: r.height, ...r.result });
  else
    print(
      `revoked ${name}'s grant to ${r.result.org} in block ${r.height}: fetches from the next block are refused`,
    );
}

interface FetchFlags extends SignFlags {
  out: string;
  store?: string;
}

/** Write `bytes` to `path` whole or not at all. */
function writeWhole(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.part`;
  writeFileSync(tmp, bytes, { mode: 0o600 });
  renameSync(tmp, path);
}

async function fetchData(name: string, f: FetchFlags): Promise<void> {
  nameArg(name);
  const s = await signing(f);
  const store = storeOf(s, f.store);
  const out = await s.ctx.withNode(async (client) => {
    const ds = new Datashare(client);
    const d = await knownDataset(ds, name);
    // Check the stored copy before asking the chain, so a missing or damaged copy costs no
    // audit entry (decryptDataset checks it again against what the fetch answers).
    const stored = getBlob(store, d.cipherHash);
    const storedHash = hex(s.profile.hash(stored));
    if (storedHash !== d.cipherHash) {
      throw codedError(
        'DATA_HASH_MISMATCH',
        `the copy of ${name} in ${store} hashes to ${storedHash}, not the recorded ${d.cipherHash}`,
      );
    }
    // The tx the contract refuses without a live grant; it commits with the audit entry.
    const r = await ds.send<FetchAnswer>(s.identity, 'fetch', { name }, { timeoutMs: f.timeout });
    const a = r.result;
    const key = openKey(s.profile, s.keyPem, a.sealedKey, a.dataset.name, a.dataset.version);
    // A re-publish between the look and the fetch names other ciphertext.
    const ciphertext =
      a.dataset.cipherHash === d.cipherHash ? stored : getBlob(store, a.dataset.cipherHash);
    const plaintext = decryptDataset(s.profile, key, ciphertext, a.dataset);
    writeWhole(f.out, plaintext);
    return { ...r, plaintext };
  });
  const d = out.result.dataset;
  if (f.json) {
    printJson({
      txId: out.txId,
      height: out.height,
      audit: out.result.seq,
      file: f.out,
      name: d.name,
      version: d.version,
      size: out.plaintext.length,
      plainHash: d.plainHash,
    });
  } else {
    print(
      `fetched ${d.name} v${d.version} to ${f.out}: ${out.plaintext.length} bytes, ${d.hash} ${d.plainHash} checked; audit entry ${out.result.seq} in block ${out.height}`,
    );
  }
}

async function enroll(f: SignFlags): Promise<void> {
  const s = await signing(f);
  if (s.info.identityMode === 'key') {
    const note = `${f.as}: on a key chain the keys the organization registered are on chain already; nothing to enroll`;
    if (f.json) printJson({ enrolled: false, note });
    else print(note);
    return;
  }
  const sender = s.identity.sender as { cert?: Uint8Array };
  if (!sender.cert) throw codedError('DATA_NO_KEY', `${f.as} has no certificate to enroll`);
  const r = await s.ctx.withNode((client) =>
    new Datashare(client).send<MemberRecord>(
      s.identity,
      'enroll',
      { cert: hex(sender.cert as Uint8Array) },
      { timeoutMs: f.timeout },
    ),
  );
  if (f.json) printJson({ txId: r.txId, enrolled: true, ...r.result, enrolledAt: r.height });
  else
    print(
      `enrolled ${r.result.org}/${r.result.user} (address ${r.result.id}) in block ${r.height}`,
    );
}

function formatDataset(d: DatasetRecord, grants: GrantView[]): string {
  const lines = [
    `${d.name} v${d.version}  owner ${d.owner} (published by ${d.publisher})`,
    `  size ${d.size} bytes, ${d.cipher}; ciphertext ${d.cipherSize} bytes`,
    `  plaintext ${d.hash} ${d.plainHash}`,
    `  stored as ${d.cipherHash}`,
    `  published ${new Date(d.time).toISOString()} (block ${d.createdAt}); ${d.audits} audit entries`,
  ];
  if (d.schema) lines.push(`  schema: ${d.schema}`);
  if (d.terms) lines.push(`  terms: ${d.terms}`);
  lines.push(grants.length ? 'grants:' : 'grants: none');
  if (grants.length) {
    lines.push(
      formatTable(
        ['ORG', 'STATE', 'USERS', 'UNTIL', 'VERSION', 'GRANTED', 'REVOKED'],
        grants.map((g) => [
          g.org,
          g.state,
          g.users.join(',') || '-',
          g.until === null ? '-' : new Date(g.until).toISOString(),
          String(g.version),
          String(g.grantedAt),
          g.revokedAt === null ? '-' : String(g.revokedAt),
        ]),
      ).trimEnd(),
    );
  }
  return lines.join('\n');
}

function formatAudit(entries: AuditEntry[]): string {
  return formatTable(
    ['SEQ', 'ACTION', 'BY', 'GRANTEE', 'VERSION', 'HEIGHT', 'TIME', 'TX'],
    entries.map((e) => [
      String(e.seq),
      e.action,
      `${e.org}/${e.user}`,
      e.grantee ?? '-',
      String(e.version),
      String(e.height),
      new Date(e.time).toISOString(),
      e.txId.slice(0, 16),
    ]),
  );
}

/** Adds `archi data ...` to the program. */
export function register(program: Command): void {
  const data = program
    .command('data')
    .description('trusted data sharing: encrypted datasets, grants, fetches with an audit trail');

  addSigningOptions(
    data
      .command('publish')
      .description('encrypt FILE into the content-addressed store and register it on chain')
      .argument('<file>', 'the file to publish')
      .requiredOption('--name <name>', 'the dataset name (1-64 of a-z 0-9 . _ -)')
      .option('--schema <text>', 'what the data holds (text, or @FILE)')
      .option('--terms <text>', 'the terms of use (text, or @FILE)')
      .option('--store <dir>', 'the content-addressed store (default: DIR/datashare/<chain>)')
      .option('--replace', 're-publish an existing dataset under a new key (carries live grants)')
      .option(
        '--drop <org>',
        "with --replace: do not carry this organization's grant (repeatable)",
        (v: string, acc: string[] = []) => [...acc, v],
      ),
    'identity to sign with (the provider; it alone holds the key afterwards)',
  ).action(publish);

  addSigningOptions(
    data
      .command('grant')
      .description(
        "grant an organization (or one of its users) the dataset's key, sealed to their keys",
      )
      .argument('<name>', 'the dataset')
      .requiredOption('--to <org[/user]>', 'the grantee organization, or one user of it')
      .option(
        '--until <time>',
        'end by block time: +<n><s|m|h|d>, ISO 8601, or ms since the epoch',
      ),
    'identity to sign with (the user who published the dataset)',
  ).action(grant);

  addSigningOptions(
    data
      .command('revoke')
      .description("revoke an organization's grant (fetches refused from the next block)")
      .argument('<name>', 'the dataset')
      .requiredOption('--from <org>', 'the grantee organization'),
    'identity to sign with (a member of the owner organization)',
  ).action(revoke);

  addSigningOptions(
    data
      .command('fetch')
      .description(
        'record the fetch on chain (refused without a live grant), then decrypt and check',
      )
      .argument('<name>', 'the dataset')
      .requiredOption('-o, --out <file>', 'where to write the plaintext')
      .option('--store <dir>', 'the content-addressed store (default: DIR/datashare/<chain>)'),
    'identity to fetch as (a user the grant seals the key to)',
  ).action(fetchData);

  addSigningOptions(
    data
      .command('enroll')
      .description('put your certificate on chain so providers can seal keys to you (cert chains)'),
    'identity to enroll',
  ).action(enroll);

  addTargetOptions(
    data
      .command('list')
      .description('the datasets in publish order (100 per page)')
      .option('--page <n>', 'page number (from 0)', intOption('--page', 0, 999_999), 0),
  ).action(async (f: TargetFlags & { page: number }) => {
    const p = await ClientContext.resolve(f).withNode((c) => new Datashare(c).datasets(f.page));
    if (f.json) printJson(p);
    else
      print(
        formatTable(
          ['NAME', 'VERSION', 'OWNER', 'SIZE', 'CIPHER', 'AUDIT', 'PUBLISHED'],
          p.datasets.map((d) => [
            d.name,
            String(d.version),
            d.owner,
            String(d.size),
            d.cipher,
            String(d.audits),
            new Date(d.time).toISOString(),
          ]),
        ),
      );
  });

  addTargetOptions(
    data
      .command('show')
      .description('a dataset and its grants (live, revoked, expired)')
      .argument('<name>', 'the dataset'),
  ).action(async (name: string, f: TargetFlags) => {
    const { d, grants } = await ClientContext.resolve(f).withNode(async (c) => {
      const ds = new Datashare(c);
      const d = await knownDataset(ds, name);
      return { d, grants: await ds.grants(name) };
    });
    if (f.json) printJson({ ...d, grantList: grants });
    else print(formatDataset(d, grants));
  });

  addTargetOptions(
    data
      .command('audit')
      .description("a dataset's audit trail, newest first (100 per page)")
      .argument('<name>', 'the dataset')
      .option('--page <n>', 'page number (from 0)', intOption('--page', 0, 999_999), 0),
  ).action(async (name: string, f: TargetFlags & { page: number }) => {
    const p = await ClientContext.resolve(f).withNode((c) =>
      new Datashare(c).audit(nameArg(name), f.page),
    );
    if (f.json) printJson(p);
    else print(formatAudit(p.entries));
  });
}
