/**
 * Keeps the p2p layer in step with the chain's membership: which TLS CAs to trust, which
 * nodes may connect, and which to dial. The chain config is the authority; node.json only
 * bootstraps what the chain cannot say yet (its own org before governance admitted it, or
 * orgs of a genesis written without TLS CAs).
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

/** Member nodes the chain gives a dial address for (other than `self`). */
function dialable(config: ChainConfig, self: string): Map<string, string> {
  return new Map(
    config.nodes.filter((n) => n.address && n.name !== self).map((n) => [n.name, n.address]),
  );
}

/** Peers to dial at start: node.json's, plus member nodes only the chain knows an address for. */
export function initialPeers(
  config: ChainConfig,
  self: string,
  filePeers: Array<{ name: string; address: string }>,
): Array<{ name: string; address: string }> {
  const names = new Set(filePeers.map((p) => p.name));
  const extra = [...dialable(config, self)].filter(([name]) => !names.has(name));
  return [...filePeers, ...extra.map(([name, address]) => ({ name, address }))];
}

/**
 * Apply a config change to the transport: new trust list, dial newly addressed nodes, stop
 * dialing nodes that left, and drop connections no longer allowed.
 */
export function syncMembership(
  net: MembershipNet,
  before: ChainConfig,
  after: ChainConfig,
  self: { name: string; org: string },
  filePems: string[],
): void {
  net.setTrustedCas(trustedCas(after, self.org, filePems));
  const was = dialable(before, self.name);
  for (const [name, address] of dialable(after, self.name)) {
    if (was.get(name) !== address) net.addPeer({ name, address });
  }
  const members = (c: ChainConfig, n: string) => memberOrg(c, n) !== undefined;
  const left = [...before.nodes, ...before.validators]
    .map((n) => n.name)
    .filter((n) => n !== self.name && members(before, n) && !members(after, n));
  for (const name of new Set(left)) net.removePeer(name);
  net.recheck();
}
