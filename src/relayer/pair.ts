/**
 * Which clients connect two chains: a client on A of B's chain id whose counterparty client
 * exists on B, is of A's chain id and names the first one back. `archi ibc connect` makes one
 * such pair (each client named after the other chain); governance may make more, so every
 * pair found is relayed.
 */
import { type IbcClientView, listClients } from '../sdk/ibc.ts';
import type { ChainEndpoint } from './endpoint.ts';

/** Two clients that name each other: `a` lives on chain A (a client of B), `b` on B. */
export interface ClientPair {
  a: IbcClientView;
  b: IbcClientView;
}

/** Every pair of clients that connects the chains of `a` and `b`, in client id order of A. */
export async function findPairs(a: ChainEndpoint, b: ChainEndpoint): Promise<ClientPair[]> {
  const [onA, onB] = await Promise.all([
    a.call((c) => listClients(c)),
    b.call((c) => listClients(c)),
  ]);
  const byId = new Map(onB.map((c) => [c.clientId, c]));
  const pairs: ClientPair[] = [];
  for (const ca of [...onA].sort((x, y) => (x.clientId < y.clientId ? -1 : 1))) {
    if (ca.chainId !== b.chainId) continue;
    const cb = byId.get(ca.counterpartyClientId);
    if (!cb || cb.chainId !== a.chainId || cb.counterpartyClientId !== ca.clientId) continue;
    pairs.push({ a: ca, b: cb });
  }
  return pairs;
}

/** A stable text of the pairs, to log only when it changes. */
export function pairsText(pairs: ClientPair[]): string {
  return pairs
    .map((p) => `${p.a.clientId}<->${p.b.clientId}:${p.a.status}/${p.b.status}`)
    .join(',');
}
