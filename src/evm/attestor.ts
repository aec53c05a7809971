/**
 * The attestor: one validator's view of an EVM bridge, signed for Archipelago's attested
 * client (docs/BRIDGE.md, "Attested client"). It reads the bridge's storage at a block N
 * confirmations below the head (the packet commitments its `SendPacket` events announce, the
 * ack commitments of its `WriteAck` events, the absence of receipts of Archipelago's packets
 * past their timeouts) and signs each value with the validator's consensus key over the digest
 * of `src/vm/native/ibc/attestation-digest.ts`. What it attests is the value stored at that
 * confirmed block, never an event's copy: one block, one answer, whichever node it asks.
 */
import type { Contract, EventLog, Provider } from 'ethers';
import type { CryptoProfile, Signer } from '../crypto/profile.ts';
import { address } from '../crypto/profile.ts';
import { hex, unhex } from '../types/hex.ts';
import type { IbcPacket } from '../types/rpc-json.ts';
import { attestationDigest, type FactKind } from '../vm/native/ibc/attestation-digest.ts';

const ZERO32 = `0x${'0'.repeat(64)}`;

/** Which client, of which bridge, on which chains an attestation is for. */
export interface AttestorTarget {
  /** Archipelago's chain id. */
  chainId: string;
  /** Archipelago's attested client of the EVM chain. */
  clientId: string;
  evmChainId: bigint;
  /** The bridge contract (0x hex). */
  bridge: string;
}

/** A value read from the bridge at a confirmed block. */
export interface Observation {
  kind: FactKind;
  sequence: number;
  /** Hex (no 0x): 32 bytes, or '' for `receipt-absent`. */
  value: string;
  evmBlockNumber: number;
  /** 0x hex, 32 bytes. */
  evmBlockHash: string;
  /** Block timestamp × 1000. */
  evmTime: number;
}

/** One validator's signature of an observation, as `ibc.attest` takes it. */
export interface Attestation {
  validator: string;
  evmBlockNumber: number;
  evmBlockHash: string;
  evmTime: number;
  signature: string;
}

/** The args of `ibc.attest`. */
export interface AttestArgs {
  clientId: string;
  kind: FactKind;
  sequence: number;
  value: string;
  attestations: Attestation[];
}

const strip0x = (h: string): string => h.replace(/^0x/, '').toLowerCase();

/** Signs `obs` for `target` with a validator's consensus key (`profile` is Archipelago's). */
export function signAttestation(
  profile: CryptoProfile,
  signer: Signer,
  target: AttestorTarget,
  obs: Observation,
): Attestation {
  const digest = attestationDigest((d) => profile.hash(d), {
    chainId: target.chainId,
    clientId: target.clientId,
    evmChainId: target.evmChainId,
    bridge: unhex(strip0x(target.bridge), 'bridge'),
    kind: obs.kind,
    sequence: obs.sequence,
    value: unhex(obs.value, 'value'),
    evmBlockNumber: obs.evmBlockNumber,
    evmBlockHash: unhex(strip0x(obs.evmBlockHash), 'evmBlockHash'),
    evmTime: obs.evmTime,
  });
  return {
    validator: address(profile, signer.publicKey),
    evmBlockNumber: obs.evmBlockNumber,
    evmBlockHash: strip0x(obs.evmBlockHash),
    evmTime: obs.evmTime,
    signature: hex(signer.sign(digest)),
  };
}

/** `ibc.attest` args carrying `attestations` of one observed value. */
export function attestArgs(
  target: AttestorTarget,
  obs: Pick<Observation, 'kind' | 'sequence' | 'value'>,
  attestations: Attestation[],
): AttestArgs {
  return {
    clientId: target.clientId,
    kind: obs.kind,
    sequence: obs.sequence,
    value: obs.value,
    attestations,
  };
}

/** What `observe` reads. */
export interface ObserveOptions {
  /** Blocks the value must be buried under (the client's `confirmations`). */
  confirmations: number;
  /** First EVM block whose events are looked at. */
  fromBlock?: number;
  /** Archipelago's packets pending over the client: candidates for `receipt-absent`. */
  pending?: IbcPacket[];
}

/** The confirmed block (head - confirmations) with its hash and time, or null if none yet. */
export async function confirmedBlock(
  provider: Provider,
  confirmations: number,
): Promise<{ number: number; hash: string; time: number } | null> {
  // Ethers answers a repeated request from its cache for 250 ms: a head up to that stale only
  // delays an attestation (the loop runs every few seconds).
  const head = await provider.getBlock('latest');
  if (!head) return null;
  const n = head.number - confirmations;
  if (n < 0) return null;
  const b = await provider.getBlock(n);
  if (!b?.hash) return null;
  return { number: n, hash: b.hash, time: b.timestamp * 1000 };
}

/**
 * Everything the bridge shows at the confirmed block: commitments of packets it sent (still
 * stored), ack commitments it wrote, and receipts absent for `pending` packets past their
 * timeout there. Events only say which sequences to look at; values come from storage.
 */
export async function observe(
  provider: Provider,
  bridge: Contract,
  opts: ObserveOptions,
): Promise<Observation[]> {
  const at = await confirmedBlock(provider, opts.confirmations);
  if (!at || at.number < (opts.fromBlock ?? 0)) return [];
  const blockTag = at.number;
  const base = { evmBlockNumber: at.number, evmBlockHash: at.hash, evmTime: at.time };
  const out: Observation[] = [];
  const seqs = async (event: string) =>
    [
      ...new Set(
        ((await bridge.queryFilter(event, opts.fromBlock ?? 0, blockTag)) as EventLog[]).map((l) =>
          Number(l.args.sequence),
        ),
      ),
    ].sort((a, b) => a - b);
  for (const sequence of await seqs('SendPacket')) {
    const v: string = await bridge.commitments(sequence, { blockTag });
    if (v !== ZERO32) out.push({ kind: 'commitment', sequence, value: strip0x(v), ...base });
  }
  for (const sequence of await seqs('WriteAck')) {
    const v: string = await bridge.acks(sequence, { blockTag });
    if (v !== ZERO32) out.push({ kind: 'ack', sequence, value: strip0x(v), ...base });
  }
  for (const p of opts.pending ?? []) {
    const past =
      (p.timeoutHeight !== 0 && at.number >= p.timeoutHeight) ||
      (p.timeoutTime !== 0 && at.time >= p.timeoutTime);
    if (past && !(await bridge.receipts(p.sequence, { blockTag }))) {
      out.push({ kind: 'receipt-absent', sequence: p.sequence, value: '', ...base });
    }
  }
  return out;
}

/**
 * What the loop needs of Archipelago: over a node's API that is `sdkAttestorChain` of
 * src/relayer/attestor-chain.ts (the SDK sits above this layer); tests use an in-process chain.
 */
export interface AttestorChain {
  /** An `ibc` query's result. */
  query(method: string, args: unknown): Promise<unknown>;
  /** Submits `ibc.attest`; resolves once committed, rejects with the refusal's code. */
  attest(args: AttestArgs): Promise<unknown>;
}

/** Settings of one attestor. */
export interface AttestorOptions {
  provider: Provider;
  bridge: Contract;
  chain: AttestorChain;
  target: AttestorTarget;
  /** Archipelago's profile and the validator's consensus key. */
  profile: CryptoProfile;
  signer: Signer;
  confirmations: number;
  fromBlock?: number;
}

/** What one round did: the observations signed and submitted, and refusals by code. */
export interface RoundReport {
  submitted: Observation[];
  refused: Array<{ obs: Observation; code: string; message: string }>;
}

/** Refusals that only mean someone got there first or nothing is left to do. */
const SETTLED_CODES = new Set(['IBC_ATTESTATION_DUPLICATE', 'IBC_PACKET_UNKNOWN']);

/**
 * One round: observe the bridge, skip values this validator already attested (or facts no
 * longer wanted), sign and submit the rest, one `attest` tx each.
 */
export async function attestRound(o: AttestorOptions): Promise<RoundReport> {
  const pending = await pendingPackets(o.chain, o.target.clientId);
  const seen = await observe(o.provider, o.bridge, {
    confirmations: o.confirmations,
    fromBlock: o.fromBlock,
    pending,
  });
  const me = address(o.profile, o.signer.publicKey);
  const report: RoundReport = { submitted: [], refused: [] };
  for (const obs of seen) {
    const key = { clientId: o.target.clientId, kind: obs.kind, sequence: obs.sequence };
    const mine = (await o.chain.query('attestation', { ...key, validator: me })) as {
      value: string;
    } | null;
    if (mine && mine.value === obs.value) continue;
    if (obs.kind === 'commitment') {
      // A packet Archipelago already received needs no more attestations.
      const recorded = (await o.chain.query('fact', key)) as { value: string } | null;
      if (recorded && recorded.value === obs.value) continue;
    }
    const args = attestArgs(o.target, obs, [signAttestation(o.profile, o.signer, o.target, obs)]);
    try {
      await o.chain.attest(args);
      report.submitted.push(obs);
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'INTERNAL';
      if (!SETTLED_CODES.has(code)) {
        report.refused.push({ obs, code, message: (e as Error).message });
      }
    }
  }
  return report;
}

async function pendingPackets(chain: AttestorChain, clientId: string): Promise<IbcPacket[]> {
  const out: IbcPacket[] = [];
  let from: number | null = 1;
  while (from !== null) {
    const page = (await chain.query('packets', { client: clientId, from, limit: 1000 })) as {
      packets: IbcPacket[];
      next: number | null;
    };
    out.push(...page.packets);
    from = page.next;
  }
  return out;
}

/**
 * Runs rounds every `intervalMs` until `signal` aborts; `onRound` sees each report (and
 * errors of a round, after which the next round starts afresh).
 */
export async function runAttestor(
  o: AttestorOptions & {
    intervalMs?: number;
    signal?: AbortSignal;
    onRound?: (r: RoundReport | Error) => void;
  },
): Promise<void> {
  const interval = o.intervalMs ?? 2000;
  while (!o.signal?.aborted) {
    try {
      o.onRound?.(await attestRound(o));
    } catch (e) {
      o.onRound?.(e as Error);
    }
    await new Promise<void>((resolve) => {
      // The listener goes with the pause: a long-running attestor must not pile them up.
      const onAbort = (): void => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        o.signal?.removeEventListener('abort', onAbort);
        resolve();
      }, interval);
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
