/**
 * Where a network directory keeps the chains made after `archi init` (`archi chain new`), and
 * how network.json records them:
 *
 *   chains/<id>/genesis.json                 the chain's genesis
 *   nodes/<node>/chains/<id>/node.{key,cert}.pem   the node's signing identity on that chain
 *   nodes/<node>/chains/<id>/data/           the node's store of that chain (made by the node)
 *   orgs/<org>/profiles/<crypto>/{ca,users}  the org's CA and users in a crypto profile other
 *                                            than the network's (orgs/<org>/{ca,users})
 *
 * network.json keeps `chain` (the first chain) and lists the others under
 * `chains: [{id, crypto, consensus, orgs, nodes, genesis}]`.
 */
import { dirname, resolve } from 'node:path';
import { ArchiError } from '../types/errors.ts';
import { SIMPLE_NAME } from './init-network.ts';

/** A chain of the network other than its first, as network.json records it. */
export interface ChainRecord {
  id: string;
  crypto: 'standard' | 'gm';
  consensus: 'solo' | 'tbft';
  /** Member organizations. */
  orgs: string[];
  /** Member nodes (one per member org's node), the chain's genesis validators. */
  nodes: string[];
  /** The genesis file, relative to the network directory. */
  genesis: string;
}

/** The chain's directory inside the network directory. */
export function chainDir(id: string): string {
  return `chains/${id}`;
}

/** The chain's genesis file, relative to the network directory. */
export function chainGenesisPath(id: string): string {
  return `${chainDir(id)}/genesis.json`;
}

/** A node's files for one chain, relative to the node's own directory (where node.json is). */
export function nodeChainPath(id: string): string {
  return `chains/${id}`;
}

/** A node's files for one chain, relative to the network directory. */
export function nodeChainDir(node: string, id: string): string {
  return `nodes/${node}/${nodeChainPath(id)}`;
}

/**
 * Where an org's CA and users of a crypto profile live, relative to the network directory:
 * orgs/<org> for the network's own profile, else orgs/<org>/profiles/<crypto>.
 */
export function orgProfileBase(
  org: string,
  crypto: 'standard' | 'gm',
  networkCrypto: 'standard' | 'gm',
): string {
  return crypto === networkCrypto ? `orgs/${org}` : `orgs/${org}/profiles/${crypto}`;
}

/** The network directory of a node.json laid out by `archi init` (DIR/nodes/<node>/node.json). */
export function networkDirOf(configPath: string): string {
  return dirname(dirname(dirname(resolve(configPath))));
}

/** Checks a chain id as a genesis chain id and a URL path segment; throws INVALID_ARGS. */
export function checkChainId(id: unknown, what = 'chain id'): string {
  if (typeof id !== 'string' || !SIMPLE_NAME.test(id)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `${what} "${String(id)}" must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return id;
}

/** network.json's `chains` list, checked; [] when absent. Throws CONFIG_INVALID. */
export function readChainRecords(raw: unknown, path: string): ChainRecord[] {
  if (raw === undefined) return [];
  const bad = (what: string): never => {
    throw new ArchiError('CONFIG_INVALID', `${path}: ${what}`);
  };
  if (!Array.isArray(raw)) bad('chains must be a list');
  const names = (v: unknown): v is string[] =>
    Array.isArray(v) && v.every((x) => typeof x === 'string' && SIMPLE_NAME.test(x));
  return (raw as any[]).map((c, i) => {
    if (typeof c?.id !== 'string' || !SIMPLE_NAME.test(c.id))
      bad(`chains[${i}].id is not a chain id`);
    if (c.crypto !== 'standard' && c.crypto !== 'gm')
      bad(`chains[${i}].crypto must be standard or gm`);
    if (c.consensus !== 'solo' && c.consensus !== 'tbft')
      bad(`chains[${i}].consensus must be solo or tbft`);
    if (!names(c.orgs) || !names(c.nodes)) bad(`chains[${i}] needs orgs and nodes lists of names`);
    if (typeof c.genesis !== 'string') bad(`chains[${i}].genesis must be a path`);
    return {
      id: c.id,
      crypto: c.crypto,
      consensus: c.consensus,
      orgs: c.orgs,
      nodes: c.nodes,
      genesis: c.genesis,
    };
  });
}
