/**
 * What every part of the gateway server shares: its identity, database, logger, the way to
 * the nodes, keys, limits and clock, plus the small caches over the database (apps by id,
 * the gateway organization's files and admin identity per crypto profile).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ProfileName, Signer } from '../crypto/interfaces.ts';
import { getProfile } from '../crypto/profile.ts';
import { Identity, type IdentityMode } from '../sdk/identity.ts';
import type { VerifyKey } from '../types/gateway-envelope.ts';
import { unhex } from '../types/hex.ts';
import type { MasterKey } from './app-keys.ts';
import type { PriceTable } from './billing.ts';
import type { Db } from './db/db.ts';
import type { Forwarder } from './forwarder.ts';
import { type OrgFiles, readOrgFiles } from './network.ts';
import { type App, type AppIdentity, type CryptoName, getApp } from './store.ts';

/** The gateway's response-signing key of one crypto profile. */
export interface GatewayKey {
  signer: Signer;
  publicKeyPem: string;
}

/** Prices when D/gateway/prices.json gives none (per tx, per query, per GB-month). */
export const DEFAULT_PRICES: PriceTable = {
  currency: 'USD',
  minorDigits: 2,
  perTx: '0.0001',
  perQuery: '0.00001',
  perGbMonth: '0.5',
};

/** Settings of a gateway server. */
export interface GatewaySettings {
  /** The gateway's id (`header.gateway` of its answers). */
  id: string;
  /** The organization it acts for: its CA issues app certificates, its admin deploys. */
  org: string;
  /** The network directory. */
  dir: string;
  /** network.json's crypto profile (where the org's files of each profile live). */
  networkCrypto: CryptoName;
  /** Allowed distance of an envelope's time from the gateway's clock (default 5 minutes). */
  maxSkewMs: number;
  /** How long a tx's journal row (its reqId and tx id, for tx/get) is kept (default 30 days). */
  txRetentionMs: number;
  /** Validity of the certificates the gateway issues to app identities (default 365 days). */
  certValidityDays: number;
}

/** An app with the key that checks its envelopes (and, filled on first use, its identities). */
export interface KnownApp {
  app: App;
  key: VerifyKey;
  /** The app's identities (made with the app, never changed). */
  identities?: Promise<AppIdentity[]>;
  /** Key trust: identities opened for signing, by name. */
  signers?: Map<string, Identity>;
}

/** Apps by id; an app's key, mode, chain and profile never change, so they are kept. */
export class AppCache {
  private readonly apps = new Map<string, KnownApp>();

  constructor(private readonly db: Db) {}

  async get(appId: string): Promise<KnownApp | undefined> {
    const hit = this.apps.get(appId);
    if (hit) return hit;
    const app = await getApp(this.db, appId);
    if (!app) return undefined;
    const known = { app, key: accessKeyOf(app) };
    if (this.apps.size >= 10_000) this.apps.clear();
    this.apps.set(appId, known);
    return known;
  }

  /** The app as stored now (its quotas may have changed), refreshing the cached one. */
  async fresh(appId: string): Promise<App | undefined> {
    const app = await getApp(this.db, appId);
    const hit = this.apps.get(appId);
    if (app && hit) hit.app = app;
    return app;
  }
}

/** The access key of an app as stored (SPKI PEM, or hex of the point). */
export function accessKeyOf(app: App): VerifyKey {
  const profile = getProfile(app.crypto);
  const text = app.accessPublicKey.trim();
  const publicKey = text.startsWith('-----')
    ? profile.publicKeyFromPem(text)
    : unhex(text, 'access public key');
  return { profile: app.crypto, publicKey };
}

export interface GatewayContext extends GatewaySettings {
  db: Db;
  log: Logger;
  fwd: Forwarder;
  master: MasterKey;
  /** Response-signing keys, one per profile. */
  keys: Record<ProfileName, GatewayKey>;
  /** The operator's bearer token. */
  adminToken: string;
  apps: AppCache;
  /** The gateway's own URL once it listens ('' before). */
  url: string;
  now(): number;
  /** The organization's CA and admin files in a crypto profile. */
  orgFiles(crypto: CryptoName): OrgFiles;
  /** The organization's admin as a signing identity in a profile and identity mode. */
  adminIdentity(crypto: CryptoName, mode: IdentityMode): Identity;
  /** The price table: D/gateway/prices.json, else DEFAULT_PRICES. */
  prices(): PriceTable;
}

/** The org-file lookups of a context, cached per profile. */
export function orgLookups(
  s: GatewaySettings,
): Pick<GatewayContext, 'orgFiles' | 'adminIdentity' | 'prices'> {
  const files = new Map<CryptoName, OrgFiles>();
  const admins = new Map<string, Identity>();
  const orgFiles = (crypto: CryptoName): OrgFiles => {
    let f = files.get(crypto);
    if (!f) {
      f = readOrgFiles(s.dir, s.org, crypto, s.networkCrypto);
      files.set(crypto, f);
    }
    return f;
  };
  return {
    orgFiles,
    adminIdentity(crypto, mode) {
      const k = `${crypto}/${mode}`;
      let id = admins.get(k);
      if (!id) {
        id = Identity.fromUserDir(crypto, s.org, orgFiles(crypto).adminDir, mode);
        admins.set(k, id);
      }
      return id;
    },
    prices() {
      const path = join(s.dir, 'gateway', 'prices.json');
      if (!existsSync(path)) return DEFAULT_PRICES;
      return { ...DEFAULT_PRICES, ...JSON.parse(readFileSync(path, 'utf8')) } as PriceTable;
    },
  };
}
