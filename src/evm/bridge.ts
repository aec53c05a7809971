/**
 * The EVM side of the bridge on ethers v6: deploy the light client and the bridge from the
 * committed artifacts, update the client with Archipelago headers, deliver packets with their
 * proofs, send vouchers back, and read balances and the packets the bridge committed to. What
 * the relayer (`--evm`) and the CLI (`archi evm ...`, `archi bridge ...`) build on
 * (docs/BRIDGE.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BaseContract,
  Contract,
  type ContractRunner,
  ContractFactory,
  type ContractTransactionReceipt,
  type EventLog,
  type InterfaceAbi,
  type Signer,
} from 'ethers';
import type { StateProofJson } from '../state/proof.ts';
import { canonicalJsonText, utf8Bytes } from '../types/json.ts';
import type { IbcAck, IbcPacket, ValidatorJson } from '../types/rpc-json.ts';
import type { ContractName } from './compile.ts';
import {
  encodeValidators,
  type HeaderInput,
  packetArg,
  packetFromEvent,
  proofArg,
  type UpdateArg,
  updateArg,
  validatorSetHash,
} from './encode.ts';

const ARTIFACTS = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'artifacts');

/** ABI and creation bytecode of a committed artifact. */
export function artifact(name: ContractName): { abi: InterfaceAbi; bytecode: string } {
  const a = JSON.parse(readFileSync(join(ARTIFACTS, `${name}.json`), 'utf8'));
  return { abi: a.abi, bytecode: a.bytecode };
}

/** Gas a mined tx used, with its receipt. */
export interface Mined {
  receipt: ContractTransactionReceipt;
  gasUsed: bigint;
}

async function mined(tx: { wait(): Promise<ContractTransactionReceipt | null> }): Promise<Mined> {
  const receipt = await tx.wait();
  if (!receipt) throw new Error('transaction was not mined');
  return { receipt, gasUsed: receipt.gasUsed };
}

function eventsOf(c: BaseContract, receipt: ContractTransactionReceipt, name: string) {
  return receipt.logs
    .map((l) => {
      try {
        return c.interface.parseLog(l);
      } catch {
        return null;
      }
    })
    .filter((e) => e?.name === name);
}

/** Settings of a new light client (as `ibc_create_client` takes them on Archipelago). */
export interface LightClientOptions {
  /** Archipelago chain id the client follows. */
  chainId: string;
  trustingPeriodMs: number;
  maxClockDriftMs: number;
  /** The trusted header and its own set (the deployer vouches for it). */
  header: HeaderInput;
  /** The header's next set (the one that signs height + 1). */
  nextValidators: ValidatorJson[];
}

/** Result of an update: `updated`, `unchanged` (the same header again) or `frozen`. */
export type UpdateResult = 'updated' | 'unchanged' | 'frozen';
const RESULTS: UpdateResult[] = ['updated', 'unchanged', 'frozen'];
const STATUSES = ['active', 'frozen', 'expired'] as const;

/** A consensus state as the light client stores it (hashes as 0x hex). */
export interface EvmConsensusState {
  blockHash: string;
  stateRoot: string;
  nextValidatorsHash: string;
  time: number;
}

/** An `ArchipelagoLightClient` on an EVM chain. */
export class EvmLightClient {
  readonly contract: Contract;

  constructor(address: string, runner: ContractRunner) {
    this.contract = new Contract(address, artifact('ArchipelagoLightClient').abi, runner);
  }

  /** Deploys a client trusting `opts.header`; resolves once mined. */
  static async deploy(signer: Signer, opts: LightClientOptions): Promise<EvmLightClient> {
    const { abi, bytecode } = artifact('ArchipelagoLightClient');
    const header = updateArg(opts.header, { trustedHeight: 0, includeValidators: true });
    const c = await new ContractFactory(abi, bytecode, signer).deploy(
      new TextEncoder().encode(opts.chainId),
      opts.trustingPeriodMs,
      opts.maxClockDriftMs,
      header.header,
      header.validators,
      encodeValidators(opts.nextValidators),
    );
    await c.waitForDeployment();
    return new EvmLightClient(await c.getAddress(), signer);
  }

  async address(): Promise<string> {
    return this.contract.getAddress();
  }

  async latestHeight(): Promise<number> {
    return Number(await this.contract.latestHeight());
  }

  async status(): Promise<(typeof STATUSES)[number]> {
    return STATUSES[Number(await this.contract.status())];
  }

  /** The consensus state at `height` (reverts `ConsensusNotFound` if none). */
  async consensusState(height: number): Promise<EvmConsensusState> {
    const c = await this.contract.consensusState(height);
    return {
      blockHash: c.blockHash,
      stateRoot: c.stateRoot,
      nextValidatorsHash: c.nextValidatorsHash,
      time: Number(c.time),
    };
  }

  /** Whether the client holds the set of this hash (hex, 0x optional). */
  async hasValidatorSet(setHash: string): Promise<boolean> {
    const h = setHash.startsWith('0x') ? setHash : `0x${setHash}`;
    return (await this.contract.totalPowerOf(h)) !== 0n;
  }

  /**
   * The `updateClient` argument for `input` from `trustedHeight`, carrying the header's set
   * and `nextValidators` only when the client does not hold them yet. `trustedValidators` is
   * the trusted state's next set (needed when skipping).
   */
  async updateArgFor(
    input: HeaderInput,
    trustedHeight: number,
    opts: { trustedValidators?: ValidatorJson[]; nextValidators?: ValidatorJson[] } = {},
  ): Promise<UpdateArg> {
    const includeValidators = !(await this.hasValidatorSet(validatorSetHash(input.validators)));
    const next = opts.nextValidators;
    const sendNext = next && !(await this.hasValidatorSet(validatorSetHash(next)));
    return updateArg(input, {
      trustedHeight,
      trustedValidators: opts.trustedValidators,
      includeValidators,
      nextValidators: sendNext ? next : undefined,
    });
  }

  /** Submits an update (see `updateArgFor`); resolves with its result and gas once mined. */
  async update(
    input: HeaderInput,
    trustedHeight: number,
    opts: { trustedValidators?: ValidatorJson[]; nextValidators?: ValidatorJson[] } = {},
  ): Promise<Mined & { result: UpdateResult }> {
    return this.submit(await this.updateArgFor(input, trustedHeight, opts));
  }

  /** Submits a prepared `updateClient` argument. */
  async submit(arg: UpdateArg): Promise<Mined & { result: UpdateResult }> {
    const result = RESULTS[Number(await this.contract.updateClient.staticCall(arg))];
    const m = await mined(await this.contract.updateClient(arg));
    return { ...m, result };
  }

  /** Stores a validator set by its hash (for relayers that send sets ahead of headers). */
  async registerValidatorSet(set: ValidatorJson[]): Promise<Mined> {
    return mined(await this.contract.registerValidatorSet(encodeValidators(set)));
  }
}

/** A packet the bridge sent (from its `SendPacket` event), with its commitment. */
export interface SentPacket {
  packet: IbcPacket;
  commitment: string;
  blockNumber: number;
  txHash: string;
}

/** An `ArchipelagoBridge` on an EVM chain. */
export class EvmBridge {
  readonly contract: Contract;

  constructor(address: string, runner: ContractRunner) {
    this.contract = new Contract(address, artifact('ArchipelagoBridge').abi, runner);
  }

  /**
   * Deploys a bridge over `lightClient`: `clientId` is this side's id (Archipelago's packets
   * name it `destClient`), `counterpartyClientId` Archipelago's client of this EVM chain.
   */
  static async deploy(
    signer: Signer,
    lightClient: string,
    opts: { clientId: string; counterpartyClientId: string },
  ): Promise<EvmBridge> {
    const { abi, bytecode } = artifact('ArchipelagoBridge');
    const c = await new ContractFactory(abi, bytecode, signer).deploy(
      lightClient,
      opts.clientId,
      opts.counterpartyClientId,
    );
    await c.waitForDeployment();
    return new EvmBridge(await c.getAddress(), signer);
  }

  async address(): Promise<string> {
    return this.contract.getAddress();
  }

  /**
   * Delivers a packet from Archipelago with the proof of its commitment at `proofHeight` (the
   * light client must hold that height); resolves with the ack the bridge wrote.
   */
  async recvPacket(
    packet: IbcPacket,
    proof: StateProofJson,
    proofHeight: number,
  ): Promise<Mined & { ack: IbcAck }> {
    const m = await mined(
      await this.contract.recvPacket(packetArg(packet), proofArg(proof), proofHeight),
    );
    const ev = eventsOf(this.contract, m.receipt, 'WriteAck')[0];
    if (!ev) throw new Error('recvPacket emitted no WriteAck');
    const ack = JSON.parse(new TextDecoder().decode(hexBytes(ev.args.ack))) as IbcAck;
    return { ...m, ack };
  }

  /**
   * Burns `amount` of the voucher `denom` (full name here) from the signer and commits to the
   * packet taking them to `receiver` on Archipelago; resolves with that packet.
   */
  async sendTransfer(args: {
    denom: string;
    amount: bigint;
    receiver: string;
    timeoutHeight?: number;
    timeoutTime?: number;
    memo?: string;
  }): Promise<Mined & SentPacket> {
    const m = await mined(
      await this.contract.sendTransfer(
        args.denom,
        args.amount,
        args.receiver,
        args.timeoutHeight ?? 0,
        args.timeoutTime ?? 0,
        args.memo ?? '',
      ),
    );
    const ev = eventsOf(this.contract, m.receipt, 'SendPacket')[0];
    if (!ev) throw new Error('sendTransfer emitted no SendPacket');
    return {
      ...m,
      packet: packetFromEvent(ev.args as never),
      commitment: ev.args.commitment,
      blockNumber: m.receipt.blockNumber,
      txHash: m.receipt.hash,
    };
  }

  /** Settles a packet sent from here with Archipelago's ack and its proof (an error refunds). */
  async acknowledgePacket(
    packet: IbcPacket,
    ack: IbcAck,
    proof: StateProofJson,
    proofHeight: number,
  ): Promise<Mined> {
    // The ack commitment hashes the ack's canonical JSON (ackBytes of ibc/keys.ts).
    const ackBytes = utf8Bytes(canonicalJsonText(ack, 'value', 'ack'));
    return mined(
      await this.contract.acknowledgePacket(
        packetArg(packet),
        ackBytes,
        proofArg(proof),
        proofHeight,
      ),
    );
  }

  /** Settles a packet Archipelago did not receive in time, by the receipt's absence proof. */
  async timeoutPacket(packet: IbcPacket, proof: StateProofJson, proofHeight: number) {
    return mined(
      await this.contract.timeoutPacket(packetArg(packet), proofArg(proof), proofHeight),
    );
  }

  /** The voucher token of a full denomination here, or null if none was minted yet. */
  async tokenOf(denom: string): Promise<string | null> {
    const a: string = await this.contract.tokenOf(denom);
    return /^0x0{40}$/.test(a) ? null : a;
  }

  /** `owner`'s balance of the voucher `denom` (0 if the token does not exist yet). */
  async balanceOf(denom: string, owner: string): Promise<bigint> {
    const token = await this.tokenOf(denom);
    if (!token) return 0n;
    const runner = this.contract.runner;
    return new Contract(token, artifact('BridgedToken').abi, runner).balanceOf(owner);
  }

  /** Whether the packet of `sequence` from Archipelago was received. */
  async received(sequence: number): Promise<boolean> {
    return this.contract.receipts(sequence);
  }

  /** Packets the bridge sent in blocks [fromBlock, toBlock], from its `SendPacket` events. */
  async sentPackets(fromBlock = 0, toBlock: number | 'latest' = 'latest'): Promise<SentPacket[]> {
    const logs = await this.contract.queryFilter(
      this.contract.filters.SendPacket(),
      fromBlock,
      toBlock,
    );
    return (logs as EventLog[]).map((l) => ({
      packet: packetFromEvent(l.args as never),
      commitment: l.args.commitment,
      blockNumber: l.blockNumber,
      txHash: l.transactionHash,
    }));
  }

  /** Whether a packet sent from here is still pending (its commitment is stored). */
  async pending(sequence: number): Promise<boolean> {
    return (await this.contract.commitments(sequence)) !== `0x${'0'.repeat(64)}`;
  }
}

function hexBytes(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'));
}
