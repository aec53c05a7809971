/**
 * One side of an interchain connection as the CLI names it (DIR[:CHAIN]) and resolves it: the
 * network directory's nodes of that chain, its chain facts and the relayer's signer. Shared by
 * `archi relay`, `archi ibc` and `archi evm`.
 */
import type { ChainTarget } from '../relayer/endpoint.ts';
import { ArchiError } from '../types/errors.ts';
import { checkChainId } from './chain-layout.ts';
import { type ChainInfo, ClientContext } from './client-context.ts';

/** A side of a connection as the flags name it: a network directory and maybe a chain. */
export interface SideSpec {
  dir: string;
  chain?: string;
}

/**
 * Parses DIR[:CHAIN]: the part after the last ':' is a chain when it is a valid chain id and
 * DIR is not empty (so `./net` and `/x/net:island-b` both read as meant).
 */
export function parseSide(text: string, flag: string): SideSpec {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new ArchiError('INVALID_ARGS', `${flag} must be DIR or DIR:CHAIN, got "${text ?? ''}"`);
  }
  const at = text.lastIndexOf(':');
  if (at > 0 && at < text.length - 1) {
    const chain = text.slice(at + 1);
    if (!chain.includes('/'))
      return { dir: text.slice(0, at), chain: checkChainId(chain, `${flag} chain`) };
  }
  return { dir: text };
}

/** A side resolved: its client context (nodes, identities) and chain facts. */
export interface ResolvedSide {
  spec: SideSpec;
  ctx: ClientContext;
  info: ChainInfo;
}

/** Resolve DIR[:CHAIN] to the network's nodes of that chain and its chain facts. */
export async function resolveSide(spec: SideSpec): Promise<ResolvedSide> {
  const ctx = ClientContext.resolve({ dir: spec.dir, chain: spec.chain });
  return { spec, ctx, info: await ctx.chainInfo() };
}

/** What the relayer needs of a resolved side: the chain id, its nodes and the signer. */
export function chainTarget(side: ResolvedSide, as: string): ChainTarget {
  return {
    chainId: side.info.chainId,
    nodes: side.ctx.nodes.map((n) => n.rpc),
    identity: side.ctx.identity(as, side.info),
  };
}
