/**
 * Keeps the p2p layer in step with the chain's membership: which TLS CAs to trust, which
 * nodes may connect, and which to dial. The chain config is the authority; node.json only
 * bootstraps what the chain cannot say yet (its own org before governance admitted it, or
 * orgs of a genesis written without TLS CAs). A node the chain does not list yet (made by
 * `archi org new`, before the governance vote) says so in its log until it is admitted.
 */
import type { ChainConfig } from '../codec/index.ts';
import { certsFromPem, certToPem, parseCertificate } from '../crypto/x509.ts';
import type { PeerCertInfo } from '../p2p/node.ts';
import { memberOrg } from '../vm/native/membership.ts';

/** What membership sync needs of the transport. */
export interface MembershipNet {
  setTrustedCas(pems: string[]): void;
  addPeer(peer: { name: string; address: string }): void;
  removePeer(name: string): void;
  recheck(): void;
}

/** Whether `peer` may talk to us: a member node whose certificate comes from its own org. */
export function peerAllowed(config: ChainConfig, peer: string, cert: PeerCertInfo): boolean {
  return memberOrg(config, peer) === cert.org;
}

function orgOfPem(pem: string): string | undefined {
  try {
    return parseCertificate(certsFromPem(pem)[0]).subject.O;
  } catch {
    return undefined;
  }
}

/** The TLS CAs to trust under `config`: the chain's, plus node.json's for orgs it has none of. */
export function trustedCas(config: ChainConfig, selfOrg: string, filePems: string[]): string[] {
  const onChain = config.orgs.filter((o) => o.tlsCaCert.length > 0);
  const covered = new Set(onChain.map((o) => o.id));
  const known = new Set(config.orgs.map((o) => o.id));
  const fromFile = filePems.filter((pem) => {
    const org = orgOfPem(pem);
    // Own org: needed before governance admits it. Other orgs: only members lacking a chain CA.
    return org !== undefined && !covered.has(org) && (org === selfOrg || known.has(org));
  });
  return [...onChain.map((o) => certToPem(o.tlsCaCert)), ...fromFile];
}

/** The TLS CAs to trust for a node that hosts the chains under `configs`. */
export function trustedCasOf(
  configs: ChainConfig[],
  selfOrg: string,
  filePems: string[],
): string[] {
  return [...new Set(configs.flatMap((c) => trustedCas(c, selfOrg, filePems)))];
}

/** Member nodes the chains give a dial address for (other than `self`); the first chain's address wins. */
function dialable(configs: ChainConfig[], self: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of configs) {
    for (const n of c.nodes) {
      if (n.address && n.name !== self && !out.has(n.name)) out.set(n.name, n.address);
    }
  }
  return out;
}

/** Peers to dial at start: node.json's, plus member nodes only the chains know an address for. */
export function initialPeers(
  configs: ChainConfig[],
  self: string,
  filePeers: Array<{ name: string; address: string }>,
): Array<{ name: string; address: string }> {
  const names = new Set(filePeers.map((p) => p.name));
  const extra = [...dialable(configs, self)].filter(([name]) => !names.has(name));
  return [...filePeers, ...extra.map(([name, address]) => ({ name, address }))];
}

/**
 * Apply a change of the hosted chains' configs (a governance change, or a chain joined or
 * left) to the transport: new trust list, dial newly addressed nodes, stop dialing nodes that
 * are a member of none of the chains any more, and drop connections no longer allowed.
 */
export function syncMembership(
  net: MembershipNet,
  before: ChainConfig[],
  after: ChainConfig[],
  self: { name: string; org: string },
  filePems: string[],
): void {
  net.setTrustedCas(trustedCasOf(after, self.org, filePems));
  const was = dialable(before, self.name);
  for (const [name, address] of dialable(after, self.name)) {
    if (was.get(name) !== address) net.addPeer({ name, address });
  }
  const member = (cs: ChainConfig[], n: string) => cs.some((c) => memberOrg(c, n) !== undefined);
  const left = before
    .flatMap((c) => [...c.nodes, ...c.validators])
    .map((n) => n.name)
    .filter((n) => n !== self.name && member(before, n) && !member(after, n));
  for (const name of new Set(left)) net.removePeer(name);
  net.recheck();
}

/** Whether the node `self` is a member of the chain under `config` (listed by its own org). */
export function isMember(config: ChainConfig, self: { name: string; org: string }): boolean {
  return memberOrg(config, self.name) === self.org;
}

/** What a node that the chain does not list yet logs, and `archi` prints about it. */
export function admissionMessage(chainId: string, self: { name: string; org: string }): string {
  return `waiting for admission: this node is not yet a member of chain ${chainId}; a governance vote must admit ${self.org}/${self.name} (see docs/GOVERNANCE.md)`;
}

/** The part of the chain an AdmissionWatch follows. */
export interface AdmissionChain {
  readonly chainId: string;
  readonly height: number;
  readonly config: ChainConfig;
  on(event: 'config', fn: (config: ChainConfig) => void): unknown;
  off(event: 'config', fn: (config: ChainConfig) => void): unknown;
}

/** How often a node waiting for admission repeats that it waits. */
export const ADMISSION_REMINDER_MS = 60_000;

/**
 * Logs, once at start and then every `intervalMs`, that the node waits for a governance vote
 * to admit it, until the chain it follows lists it (then logs that once). A node is only
 * told of its admission by the blocks it syncs once the members accept it, so it reports
 * "waiting" until it has synced the block that admitted it.
 */
export class AdmissionWatch {
  private timer?: ReturnType<typeof setInterval>;
  private readonly onConfig = (config: ChainConfig): void => {
    if (!isMember(config, this.self)) return;
    this.log.info(
      { height: this.chain.height },
      `admitted: ${this.self.org}/${this.self.name} is a member of chain ${this.chain.chainId}`,
    );
    this.stop();
  };

  constructor(
    private readonly chain: AdmissionChain,
    private readonly self: { name: string; org: string },
    private readonly log: {
      warn(obj: object, msg: string): void;
      info(obj: object, msg: string): void;
    },
    intervalMs = ADMISSION_REMINDER_MS,
  ) {
    if (isMember(chain.config, self)) return;
    const remind = (): void =>
      log.warn({ height: chain.height }, admissionMessage(chain.chainId, self));
    remind();
    this.timer = setInterval(remind, intervalMs);
    this.timer.unref?.();
    chain.on('config', this.onConfig);
  }

  /** True while the chain does not list this node. */
  get waiting(): boolean {
    return !isMember(this.chain.config, this.self);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.chain.off('config', this.onConfig);
  }
}
