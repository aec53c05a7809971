/**
 * `archi id show`: who an identity of the network directory is on chain: its address (the
 * `sender.id` contracts see, e.g. a token owner), org, role, name, identity mode, crypto
 * profile and certificate validity. Reads only the files under DIR; no node is asked.
 *
 * `archi id register` / `archi id revoke`: on a key-mode chain, an organization admin adds or
 * removes a client or common key of its own organization (native `org_keys`, no vote), and
 * waits for the commit.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { parseCertificate } from '../../crypto/x509.ts';
import { certHash } from '../../sdk/governance.ts';
import type { Identity } from '../../sdk/identity.ts';
import { type OrgKeyResult, registerKey, revokeKey } from '../../sdk/org-keys.ts';
import { ArchiError } from '../../types/errors.ts';
import { hex } from '../../types/hex.ts';
import {
  addChainOption,
  addSigningOptions,
  ClientContext,
  cliOutput,
  DEFAULT_DIR,
  DEFAULT_IDENTITY,
  type TargetFlags,
} from '../client-context.ts';

/** What `archi id show --json` prints. */
export interface IdentityInfo {
  /** ORG/USER as --as spells it. */
  id: string;
  /** Account address: hex of the first 20 bytes of the profile hash of the public key. */
  address: string;
  org: string;
  /** Role on chain: the certificate's OU (cert mode) or the registered key's role (key mode). */
  role: string | null;
  /** Certificate CN (cert mode) or the registered key's name (key mode). */
  name: string | null;
  mode: 'cert' | 'key';
  crypto: 'standard' | 'gm';
  publicKey: string;
  /** Cert mode: the certificate's validity window; null in key mode. */
  certificate: {
    notBefore: string;
    notAfter: string;
    /** Whether now falls inside the window. */
    validNow: boolean;
    issuer: string;
    serial: string;
    /** What `revoke_cert` takes: hex of the profile hash of the DER. */
    hash: string;
  } | null;
  /** "registered key" in key mode, else "certificate valid|not yet valid|expired". */
  validity: string;
  /** Key mode: where the key's registration was found (genesis.json or the org's add_org.json). */
  registeredIn: string | null;
}

interface IdFlags {
  dir: string;
  chain?: string;
  as: string;
  json?: boolean;
  address?: boolean;
}

const PROFILE_TEXT: Record<string, string> = {
  standard: 'ECDSA P-256 / SHA-256',
  gm: 'SM2 / SM3',
};

function print(text: string): void {
  cliOutput.write(text.endsWith('\n') ? text : `${text}\n`);
}

function readJson(path: string): any {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The registration of a key-mode public key: the chain's genesis first, then an `org new` add_org.json. */
function findRegisteredKey(
  dir: string,
  genesisPath: string,
  org: string,
  publicKey: string,
): { name: string; role: string; file: string } | undefined {
  const candidates: Array<[string, unknown]> = [];
  const genesis = readJson(genesisPath);
  const genesisOrg = Array.isArray(genesis?.orgs)
    ? genesis.orgs.find((o: any) => o?.id === org)
    : undefined;
  candidates.push([relative(dir, genesisPath), genesisOrg?.keys]);
  candidates.push([
    join('orgs', org, 'add_org.json'),
    readJson(join(dir, 'orgs', org, 'add_org.json'))?.keys,
  ]);
  for (const [file, keys] of candidates) {
    if (!Array.isArray(keys)) continue;
    const k = keys.find(
      (x: any) => typeof x?.publicKey === 'string' && x.publicKey.toLowerCase() === publicKey,
    );
    if (k && typeof k.name === 'string' && typeof k.role === 'string') {
      return { name: k.name, role: k.role, file };
    }
  }
  return undefined;
}

/** Describe identity `spec` (ORG/USER) of the network in `ctx`. */
export async function describeIdentity(
  ctx: ClientContext,
  spec: string,
  now = Date.now(),
): Promise<IdentityInfo> {
  const info = await ctx.chainInfo();
  const identity: Identity = ctx.identity(spec, info);
  const publicKey = hex(identity.publicKey);
  const base = {
    id: spec,
    address: identity.address,
    org: identity.org,
    mode: identity.mode,
    crypto: info.crypto,
    publicKey,
  };
  if (identity.mode === 'cert' && identity.sender.cert) {
    const der = identity.sender.cert;
    const cert = parseCertificate(der);
    const validNow = now >= cert.notBefore && now <= cert.notAfter;
    return {
      ...base,
      role: cert.subject.OU ?? null,
      name: cert.subject.CN ?? null,
      certificate: {
        notBefore: new Date(cert.notBefore).toISOString(),
        notAfter: new Date(cert.notAfter).toISOString(),
        validNow,
        issuer: [cert.issuer.CN, cert.issuer.O].filter(Boolean).join(', '),
        serial: cert.serialHex,
        hash: certHash(identity.profile, der),
      },
      validity: validNow
        ? 'certificate valid'
        : now < cert.notBefore
          ? 'certificate not yet valid'
          : 'certificate expired',
      registeredIn: null,
    };
  }
  const reg = findRegisteredKey(ctx.dir, ctx.genesisPath(), identity.org, publicKey);
  return {
    ...base,
    role: reg?.role ?? null,
    name: reg?.name ?? null,
    certificate: null,
    validity: 'registered key',
    registeredIn: reg?.file ?? null,
  };
}

/** The human form of `archi id show`. */
export function formatIdentity(i: IdentityInfo): string {
  const rows: Array<[string, string]> = [
    ['identity', i.id],
    ['address', i.address],
    ['org', i.org],
    [
      'role',
      i.role ??
        (i.mode === 'key'
          ? 'unknown (key not found in genesis.json or add_org.json: registered later by a vote or `archi id register`?)'
          : 'none (certificate has no OU)'),
    ],
    ['name', i.name ?? '-'],
    [
      'mode',
      i.mode === 'cert' ? 'cert (signs with an X.509 certificate)' : 'key (a registered key)',
    ],
    ['crypto', `${i.crypto} (${PROFILE_TEXT[i.crypto] ?? i.crypto})`],
  ];
  if (i.certificate) {
    const c = i.certificate;
    rows.push(
      [
        'certificate',
        `${i.validity.replace(/^certificate /, '')} (notBefore ${c.notBefore}, notAfter ${c.notAfter})`,
      ],
      ['issuer', c.issuer],
      ['cert hash', c.hash],
    );
  } else {
    rows.push(['validity', `${i.validity}${i.registeredIn ? ` (in ${i.registeredIn})` : ''}`]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

interface KeyFlags extends TargetFlags {
  as: string;
  gas?: number;
  timeout: number;
  name?: string;
  role: string;
  publicKey: string;
}

const HEX = /^(0x)?[0-9a-fA-F]+$/;

function publicKeyFlag(v: string | undefined): string {
  if (typeof v !== 'string' || !HEX.test(v)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `--public-key must be the hex of an uncompressed public key, got "${v ?? ''}"`,
    );
  }
  return v.replace(/^0x/, '').toLowerCase();
}

/** `archi id register` / `archi id revoke`: one org_keys tx as the admin --as, waited for. */
async function keyTx(action: 'register' | 'revoke', flags: KeyFlags): Promise<void> {
  const publicKey = publicKeyFlag(flags.publicKey);
  if (action === 'register' && flags.role !== 'client' && flags.role !== 'common') {
    throw new ArchiError(
      'INVALID_ARGS',
      `--role must be client or common, got "${flags.role}" (admin and consensus keys are added by governance: add_org)`,
    );
  }
  const ctx = ClientContext.resolve(flags);
  const r: OrgKeyResult = await ctx.withNode(async (client) => {
    const admin = ctx.identity(flags.as, await ctx.chainInfo(client));
    const opts = { gasLimit: flags.gas, timeoutMs: flags.timeout };
    return action === 'register'
      ? registerKey(
          client,
          admin,
          { name: flags.name!, role: flags.role as 'client' | 'common', publicKey },
          opts,
        )
      : revokeKey(client, admin, publicKey, opts);
  });
  if (flags.json) {
    print(
      JSON.stringify(
        { txId: r.txId, height: r.height, gasUsed: r.receipt.gasUsed, ...r.key },
        null,
        2,
      ),
    );
    return;
  }
  const k = r.key;
  print(
    [
      `${action === 'register' ? 'registered' : 'revoked'} ${k.org}/${k.name} (${k.role}) in block ${r.height}`,
      `txId: ${r.txId}`,
      `publicKey: ${k.publicKey}`,
      action === 'register'
        ? `It may sign txs from block ${r.height + 1}.`
        : `Txs it signs are refused from block ${r.height + 1}.`,
    ].join('\n'),
  );
}

/** Adds `archi id show`, `archi id register` and `archi id revoke` to the program. */
export function register(program: Command): void {
  const id = program.command('id').description('identities of the network directory');
  addChainOption(
    id
      .command('show')
      .description(
        'address (as contracts see the sender), org, role, name, mode, crypto and certificate validity of an identity',
      )
      .option('--dir <dir>', 'network directory (network.json and identities)', DEFAULT_DIR)
      .option('--as <org/user>', 'identity to show', DEFAULT_IDENTITY)
      .option('--address', 'print only the address')
      .option('--json', 'machine-readable output'),
  ).action(async (flags: IdFlags) => {
    if (flags.address && flags.json) {
      throw new ArchiError('INVALID_ARGS', 'use --address or --json, not both');
    }
    const info = await describeIdentity(
      ClientContext.resolve({ dir: flags.dir, chain: flags.chain }),
      flags.as,
    );
    if (flags.address) print(info.address);
    else if (flags.json) print(JSON.stringify(info, null, 2));
    else print(formatIdentity(info));
  });

  addSigningOptions(
    id
      .command('register')
      .description(
        "register a client or common key with your organization on a key-mode chain (an org admin's tx, no governance vote; the key may sign from the next block)",
      )
      .requiredOption('--name <name>', "the key's name, unique in the organization")
      .requiredOption('--public-key <hex>', 'hex of the uncompressed public key')
      .option('--role <role>', 'client or common', 'client'),
    'organization admin to register the key with (its org gets the key)',
  ).action((flags: KeyFlags) => keyTx('register', flags));

  addSigningOptions(
    id
      .command('revoke')
      .description(
        "remove a client or common key of your organization on a key-mode chain (an org admin's tx; the key is refused from the next block)",
      )
      .requiredOption('--public-key <hex>', 'hex of the uncompressed public key'),
    'admin of the organization that holds the key',
  ).action((flags: KeyFlags) => keyTx('revoke', flags));
}
