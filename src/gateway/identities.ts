/**
 * Making an app with its keys and transaction identities (POST /gw/v1/admin/apps), in the
 * app's chain's crypto profile and identity mode:
 *
 * - upload mode: the app sends its access public key and, per identity, a CSR (cert chains)
 *   or a public key (key chains); key trust: the gateway generates every key and keeps the
 *   private halves sealed with the master key, handing the access private key out once;
 * - cert chains: the gateway organization's CA issues each identity's certificate (role
 *   `client`); key chains: the organization's admin registers each public key on chain with
 *   the native `org_keys.register` tx, waited for, before the app is answered (an app whose
 *   registration fails is removed again).
 */
import { randomBytes } from 'node:crypto';
import { getProfile } from '../crypto/profile.ts';
import { certFromPem } from '../crypto/x509.ts';
import { ArchiError } from '../errors/index.ts';
import { buildAndSign } from '../sdk/identity.ts';
import { remoteError } from '../sdk/errors.ts';
import { ORG_KEYS } from '../sdk/org-keys.ts';
import type { ChainConfigJson } from '../sdk/types.ts';
import { hex } from '../types/hex.ts';
import { generateAppKeys, openPrivateKey } from './app-keys.ts';
import type { GatewayContext } from './context.ts';
import { certifyCsr, type GatewayCa, issueAppCertificate, parsePublicKey } from './csr.ts';
import {
  type App,
  type AppIdentity,
  addIdentity,
  createApp,
  deleteApp,
  getTenant,
  type KeyMode,
  namespaceTaken,
} from './store.ts';

/** One identity as the admin and info answers show it. */
export interface IdentityView {
  name: string;
  org: string;
  /** Hex of the public key (uncompressed point). */
  publicKey: string;
  /** The certificate the gateway organization's CA issued (cert chains), else null. */
  cert: string | null;
}

/** An app identity as the admin and info answers show it (every identity is of the gateway's org). */
export function identityView(
  ctx: GatewayContext,
  i: Pick<AppIdentity, 'name' | 'publicKey' | 'certPem'>,
): IdentityView {
  return { name: i.name, org: ctx.org, publicKey: i.publicKey, cert: i.certPem };
}

/** The answer to POST /gw/v1/admin/apps. */
export interface CreatedApp {
  app: App;
  identities: IdentityView[];
  /** Key trust only, this once: the app's access private key (PEM). */
  accessPrivateKey?: string;
  gateway: { id: string; org: string; url: string; publicKeys: { standard: string; gm: string } };
}

const bad = (message: string) => new ArchiError('BAD_REQUEST', message);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** How long a key registration may take to commit. */
const REGISTER_WAIT_MS = 60_000;

/**
 * The default namespace of an app name: lower-cased, characters outside [a-z0-9_] turned
 * into `_`, a leading letter ensured, cut to 12 characters.
 */
export function defaultNamespace(appName: string): string {
  let ns = appName.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!/^[a-z]/.test(ns)) ns = `a${ns}`;
  return ns.slice(0, 12);
}

/** The first of `base`, `base2`, `base3`... that no app of the chain has. */
async function freeNamespace(ctx: GatewayContext, chainId: string, base: string): Promise<string> {
  for (let n = 1; ; n++) {
    const ns = n === 1 ? base : `${base}${n}`;
    if (!(await namespaceTaken(ctx.db, chainId, ns))) return ns;
  }
}

function pemOf(v: unknown, what: string): string {
  if (typeof v !== 'string' || !v.includes('-----BEGIN')) throw bad(`${what} must be PEM text`);
  return v;
}

function optLimit(v: unknown, what: string): number | null | undefined {
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw bad(`${what} must be a whole number > 0, or null for no limit`);
  }
  return v;
}

/** The gateway organization's CA for the chain's profile, checked against the chain's config. */
function caFor(ctx: GatewayContext, config: ChainConfigJson): GatewayCa {
  const files = ctx.orgFiles(config.crypto);
  const onChain = config.orgs.find((o) => o.id === ctx.org)?.caCert;
  if (onChain && hex(certFromPem(files.caCertPem)) !== onChain.toLowerCase()) {
    throw new ArchiError(
      'CONFIG_INVALID',
      `the ${config.crypto} CA of ${ctx.org} in the network directory is not the one chain ${config.chainId} lists`,
    );
  }
  return { keyPem: files.caKeyPem, org: ctx.org };
}

interface NewIdentity {
  name: string;
  publicKey: string;
  certPem: string | null;
  sealed: Uint8Array | null;
}

/** Creates an app from the admin request's body; see the module comment. */
export async function createAppWithIdentities(
  ctx: GatewayContext,
  body: Record<string, unknown>,
): Promise<CreatedApp> {
  const allowed = [
    'tenant',
    'name',
    'chain',
    'mode',
    'namespace',
    'tps',
    'tpd',
    'accessPublicKey',
    'identities',
  ];
  for (const k of Object.keys(body)) if (!allowed.includes(k)) throw bad(`unknown field ${k}`);
  if (typeof body.tenant !== 'string') throw bad('tenant (id or name) is required');
  if (typeof body.name !== 'string' || !NAME.test(body.name)) throw bad(`name must match ${NAME}`);
  if (typeof body.chain !== 'string' || body.chain === '') throw bad('chain is required');
  const mode = (body.mode ?? 'upload') as KeyMode;
  if (mode !== 'upload' && mode !== 'trust') throw bad('mode must be upload or trust');
  const tps = optLimit(body.tps, 'tps');
  const tpd = optLimit(body.tpd, 'tpd');
  const tenant = await getTenant(ctx.db, body.tenant);
  if (!tenant) throw new ArchiError('GW_NOT_FOUND', `no tenant ${body.tenant}`);

  const chain = await ctx.fwd.chain(body.chain);
  const config = await chain.chainConfig(0);
  if (!config.orgs.some((o) => o.id === ctx.org)) {
    throw bad(`the gateway's organization ${ctx.org} is not a member of chain ${config.chainId}`);
  }
  const crypto = config.crypto;
  const profile = getProfile(crypto);
  const certChain = config.identityMode === 'cert';
  const ca = certChain ? caFor(ctx, config) : undefined;
  const nowMs = ctx.now();
  const validity = {
    notBefore: new Date(nowMs - 5 * 60_000),
    notAfter: new Date(nowMs + ctx.certValidityDays * 86_400_000),
  };
  const appId = `app_${randomBytes(10).toString('hex')}`;

  // Keys and certificates first: nothing is stored for a request with a bad CSR or key.
  let accessPem: string;
  let accessPrivateKey: string | undefined;
  const ids: NewIdentity[] = [];
  if (mode === 'upload') {
    const access = parsePublicKey(pemOf(body.accessPublicKey, 'accessPublicKey'), profile);
    accessPem = profile.publicKeyToPem(access);
    const list = body.identities;
    if (!Array.isArray(list) || list.length === 0) {
      throw bad('an upload-mode app needs identities: [{name, csr | publicKey}, ...]');
    }
    for (const item of list) {
      const it = (item ?? {}) as Record<string, unknown>;
      if (typeof it.name !== 'string' || !NAME.test(it.name)) {
        throw bad(`identity name must match ${NAME}`);
      }
      if (certChain) {
        if (it.csr === undefined) {
          throw bad(`identity ${it.name}: chain ${config.chainId} uses certificates; send a csr`);
        }
        const c = certifyCsr(profile, ca!, it.csr as string, { role: 'client', ...validity });
        ids.push({ name: it.name, publicKey: hex(c.publicKey), certPem: c.certPem, sealed: null });
      } else {
        if (it.publicKey === undefined) {
          throw bad(
            `identity ${it.name}: chain ${config.chainId} uses registered keys; send a publicKey`,
          );
        }
        const key = parsePublicKey(it.publicKey as string, profile);
        ids.push({ name: it.name, publicKey: hex(key), certPem: null, sealed: null });
      }
    }
  } else {
    if (body.accessPublicKey !== undefined) {
      throw bad('a key-trust app gets its access key from the gateway; send no accessPublicKey');
    }
    const list = body.identities ?? ['default'];
    if (!Array.isArray(list) || list.length === 0) {
      throw bad('identities must be a list of names (key trust: the gateway makes their keys)');
    }
    const names = list.map((it) => {
      const n = typeof it === 'string' ? it : (it as { name?: unknown })?.name;
      if (typeof n !== 'string' || !NAME.test(n)) throw bad(`identity name must match ${NAME}`);
      if (typeof it === 'object' && (it.csr !== undefined || it.publicKey !== undefined)) {
        throw bad('a key-trust app uploads no keys: the gateway makes them');
      }
      return n;
    });
    const keys = generateAppKeys(ctx.master, profile, appId, names);
    accessPem = keys.access.publicKeyPem;
    accessPrivateKey = openPrivateKey(
      ctx.master,
      profile,
      appId,
      keys.access.name,
      keys.access.sealed,
    );
    for (const k of keys.identities) {
      const certPem = certChain
        ? issueAppCertificate(profile, ca!, {
            commonName: commonName(k.name, appId),
            publicKey: k.publicKey,
            role: 'client',
            ...validity,
          }).certPem
        : null;
      ids.push({ name: k.name, publicKey: hex(k.publicKey), certPem, sealed: k.sealed });
    }
  }
  if (new Set(ids.map((i) => i.name)).size !== ids.length) throw bad('identity names must differ');

  let namespace: string;
  if (body.namespace !== undefined) {
    if (typeof body.namespace !== 'string') throw bad('namespace must be a string');
    namespace = body.namespace;
    if (await namespaceTaken(ctx.db, config.chainId, namespace)) {
      throw new ArchiError(
        'GW_EXISTS',
        `namespace ${namespace} is taken on chain ${config.chainId}`,
      );
    }
  } else {
    namespace = await freeNamespace(ctx, config.chainId, defaultNamespace(body.name));
  }

  const app = await createApp(ctx.db, {
    id: appId,
    tenantId: tenant.id,
    name: body.name,
    chainId: config.chainId,
    mode,
    namespace,
    crypto,
    accessPublicKey: accessPem,
    tps,
    tpd,
    nowMs,
  });
  try {
    for (const i of ids) {
      await addIdentity(ctx.db, {
        appId,
        name: i.name,
        publicKey: i.publicKey,
        certPem: i.certPem,
        encryptedPrivateKey: i.sealed,
        nowMs,
      });
    }
    if (!certChain) {
      const admin = ctx.adminIdentity(crypto, 'key');
      for (const i of ids)
        await registerKey(ctx, config.chainId, admin, keyName(appId, i.name), i.publicKey);
    }
  } catch (e) {
    await deleteApp(ctx.db, appId).catch(() => {});
    throw e;
  }
  ctx.log.info(
    { app: appId, tenant: tenant.id, chain: config.chainId, mode, namespace },
    'gateway: app created',
  );
  const created: CreatedApp = {
    app,
    identities: ids.map((i) => identityView(ctx, i)),
    gateway: {
      id: ctx.id,
      org: ctx.org,
      url: ctx.url,
      publicKeys: { standard: ctx.keys.standard.publicKeyPem, gm: ctx.keys.gm.publicKeyPem },
    },
  };
  if (accessPrivateKey !== undefined) created.accessPrivateKey = accessPrivateKey;
  return created;
}

/** The subject CN of a key-trust identity's certificate (at most 64 characters). */
function commonName(name: string, appId: string): string {
  const cn = `${name}.${appId}`;
  return cn.length <= 64 ? cn : `${name.slice(0, 63 - appId.length)}.${appId}`;
}

/** The name an identity's key is registered under on a key chain (unique in the organization). */
export function keyName(appId: string, name: string): string {
  return `${appId}.${name}`.slice(0, 64);
}

/**
 * Registers a public key (hex) as a `client` of the gateway organization, waited for: the
 * `org_keys.register` tx of src/sdk/org-keys.ts (registerKey), signed here once so that it can
 * go to the chain's next node when one cannot be reached without being signed twice.
 */
async function registerKey(
  ctx: GatewayContext,
  chainId: string,
  admin: ReturnType<GatewayContext['adminIdentity']>,
  name: string,
  publicKey: string,
): Promise<void> {
  // One signed tx, sent to the chain's next node if one cannot be reached: sending it again
  // can only be refused as a duplicate, never register twice.
  const tx = buildAndSign(admin, chainId, {
    contract: ORG_KEYS,
    method: 'register',
    args: { name, role: 'client', publicKey },
  });
  const c = await ctx.fwd.submitAndWait(chainId, tx.bytes, tx.txIdHex, REGISTER_WAIT_MS);
  if (c.receipt.status !== 'ok') {
    throw remoteError(
      c.receipt.code,
      `registering key ${name} on chain ${chainId} failed in block ${c.height}: ${c.receipt.message}`,
    );
  }
}
