/**
 * A light client: trusts one validator set at one height (from genesis, or an operator it
 * trusts) and from there believes only what +2/3 of the voting power signed, so it can check
 * state proofs at any later height through any node, across validator-set changes.
 *
 * Each header names its own validator set (`validatorsHash`) and the next height's
 * (`nextValidatorsHash`, fixed a block ahead because governance changes apply at H + 2).
 * Going forward from a trusted height h with set V:
 * - skipping: a block h' > h whose header names V and whose commit +2/3 of V signed is
 *   accepted directly (honest members of V sign only a block whose set really is V);
 * - otherwise it walks block by block: each block's commit must verify under the set it
 *   trusts for that height, and the next set is the one the verified header names (the node's
 *   `/v1/validators/:height` answer is used only if its hash matches that name).
 * Like Tendermint's, this assumes fewer than 1/3 of a trusted set's power is byzantine.
 */
import type { Header, Validator } from '../codec/index.ts';
import type { CryptoProfile } from '../crypto/profile.ts';
import { hex } from '../types/hex.ts';
import { validatorsRoot } from '../types/vote.ts';
import { proofInvalid } from './errors.ts';
import type { BlockJson, QueryAnswer, StateAnswer, ValidatorSetJson } from './types.ts';
import {
  type ValidatorInput,
  type VerifiedState,
  validatorsFromInput,
  verifyBlockCommit,
  verifyHeader,
  verifyQueryProof,
  verifyStateProof,
} from './verify.ts';

/** What the light client asks of a node (ArchiClient has both). */
export interface LightSource {
  getBlock(height: number): Promise<BlockJson>;
  validators(height: number): Promise<ValidatorSetJson>;
}

/** Hex of the validator set's merkle root: what a header's validatorsHash holds. */
export function validatorSetHash(profile: CryptoProfile, validators: Validator[]): string {
  return hex(validatorsRoot(profile, validators));
}

export class LightClient {
  private height: number;
  private set: Validator[];
  /** Verified blocks by height (the latest 64). */
  private readonly verified = new Map<number, BlockJson>();

  /**
   * Trust `validators` as the set deciding `height` (for a new chain: height 1 and the
   * genesis validators).
   */
  constructor(
    private readonly profile: CryptoProfile,
    private readonly chainId: string,
    trusted: { height: number; validators: ValidatorInput[] },
  ) {
    if (!Number.isSafeInteger(trusted.height) || trusted.height < 1) {
      throw proofInvalid('trusted height must be a positive integer');
    }
    this.height = trusted.height;
    this.set = validatorsFromInput(trusted.validators);
    if (this.set.length === 0) throw proofInvalid('the trusted validator set is empty');
  }

  /** The latest height whose validator set is trusted. */
  get trustedHeight(): number {
    return this.height;
  }

  /**
   * Verify the block at `target` (at or after the trusted height) and return it; trust moves
   * forward to it. Throws PROOF_INVALID when a node's answer does not verify.
   */
  async verifyBlock(source: LightSource, target: number): Promise<BlockJson> {
    const known = this.verified.get(target);
    if (known) return known;
    if (!Number.isSafeInteger(target) || target < this.height) {
      throw proofInvalid(
        `height ${target} is before the trusted height ${this.height}; trust an earlier set`,
      );
    }
    const last = await source.getBlock(target);
    if (target > this.height && this.signedBy(last, target, this.set)) {
      this.remember(target, last);
      this.height = target;
      return last;
    }
    // The set changed on the way (or the node lies): walk, one verified header at a time.
    while (this.height < target) {
      const h = this.height;
      const block = this.verified.get(h) ?? (await source.getBlock(h));
      const header = this.check(block, h, this.set);
      this.remember(h, block);
      this.set = await this.nextSet(source, hex(header.nextValidatorsHash), h);
      this.height = h + 1;
    }
    this.check(last, target, this.set);
    this.remember(target, last);
    return last;
  }

  /**
   * Verify a query answer with proofs (`prove: true`) through verified headers. The block's
   * commit was checked by verifyBlock, so the proof check does not verify its signatures again.
   */
  async verifyQuery(source: LightSource, answer: QueryAnswer): Promise<VerifiedState> {
    if (!answer.proof) throw proofInvalid('the answer carries no proof');
    const block = await this.verifyBlock(source, answer.proof.height);
    return { ...verifyQueryProof(this.profile, block, answer.proof), commitChecked: true };
  }

  /** Verify a /v1/state answer through verified headers (commit checked once, as above). */
  async verifyState(
    source: LightSource,
    answer: StateAnswer,
    expectedKey?: string,
  ): Promise<VerifiedState> {
    const block = await this.verifyBlock(source, answer.height);
    const state = verifyStateProof(this.profile, block, answer, undefined, expectedKey);
    return { ...state, commitChecked: true };
  }

  private signedBy(block: BlockJson, height: number, set: Validator[]): boolean {
    try {
      this.check(block, height, set);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The block (header decoded from its bytes, whose hash is the block hash) is at `height`
   * of this chain, names `set` as its validators, and +2/3 of `set` signed it.
   */
  private check(block: BlockJson, height: number, set: Validator[]): Header {
    const { header, blockHash } = verifyHeader(this.profile, block, height);
    if (header.chainId !== this.chainId) {
      throw proofInvalid(`block ${height} is of chain ${header.chainId}`);
    }
    // Before the signatures: a block naming another set is refused without checking them.
    if (hex(header.validatorsHash) !== validatorSetHash(this.profile, set)) {
      throw proofInvalid(`block ${height} names a validator set other than the trusted one`);
    }
    verifyBlockCommit(this.profile, block, header, blockHash, set);
    return header;
  }

  private remember(height: number, block: BlockJson): void {
    this.verified.set(height, block);
    if (this.verified.size > 64) this.verified.delete(this.verified.keys().next().value!);
  }

  /** The set of `height + 1`: the one verified header `height` names by hash `want`. */
  private async nextSet(source: LightSource, want: string, height: number): Promise<Validator[]> {
    if (want === validatorSetHash(this.profile, this.set)) return this.set;
    const answer = await source.validators(height + 1);
    const set = validatorsFromInput(answer?.validators ?? []);
    if (validatorSetHash(this.profile, set) !== want) {
      throw proofInvalid(
        `the node's validator set for height ${height + 1} is not the one block ${height} names`,
      );
    }
    return set;
  }
}
