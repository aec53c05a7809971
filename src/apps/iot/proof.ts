/**
 * Proof files of readings: `archi iot prove` writes one, `archi iot verify` (or any SDK user)
 * checks it offline. A file holds the reading, its Merkle path in its batch, one query answer
 * with state proofs (at one height) of the device record and of the batch's anchor record,
 * and the blocks a light client needs to verify that height's header from the genesis
 * validators. Verifying establishes both the reading's origin (its signature under the key
 * the chain registered for the device) and its time of anchoring (the block height and time
 * the contract recorded with the batch root).
 */
import { getProfile } from '../../crypto/profile.ts';
import type { ArchiClient } from '../../sdk/client.ts';
import { codedError, proofInvalid } from '../../sdk/errors.ts';
import { LightClient, type LightSource } from '../../sdk/light-client.ts';
import type { BlockJson, QueryAnswer, ValidatorSetJson } from '../../sdk/types.ts';
import type { ValidatorInput } from '../../sdk/verify.ts';
import { ArchiError } from '../../types/errors.ts';
import { unhex } from '../../types/hex.ts';
import { merklePath, type PathStep, verifyMerklePath } from './merkle.ts';
import { type SignedReading, verifyReading } from './reading.ts';
import { type AnchorRecord, type DeviceRecord, IOT_CONTRACT, keys } from './rules.ts';
import type { ReadingStore } from './store.ts';

export const PROOF_FORMAT = 'archipelago-iot-proof/1';

/** The JSON of a proof file. */
export interface ReadingProofFile {
  format: typeof PROOF_FORMAT;
  chainId: string;
  crypto: 'standard' | 'gm';
  contract: string;
  reading: SignedReading;
  batch: { seq: number; index: number; count: number; path: PathStep[] };
  /** The contract's `proof` query answered with state proofs. */
  query: QueryAnswer;
  /** Blocks (with commits) the light client reads, from the trusted height to the proof's. */
  blocks: BlockJson[];
  validatorSets: Array<{ height: number; set: ValidatorSetJson }>;
}

/** What a verified proof establishes. */
export interface VerifiedReading {
  verified: true;
  reading: string;
  device: { id: string; name: string; owner: string; curve: string; status: string };
  anchored: { seq: number; height: number; time: number; iso: string; org: string; txId: string };
  proofHeight: number;
  blockHash: string;
  stateRoot: string;
}

/** The trust a verifier starts from: the chain's genesis validators. */
export interface Trust {
  chainId: string;
  validators: ValidatorInput[];
}

/** A LightSource that remembers what it answered, so the answers can go into the file. */
function recording(
  client: ArchiClient,
  file: Pick<ReadingProofFile, 'blocks' | 'validatorSets'>,
): LightSource {
  return {
    async getBlock(height) {
      const b = await client.getBlock(height);
      file.blocks.push(b);
      return b;
    },
    async validators(height) {
      const set = await client.validators(height);
      file.validatorSets.push({ height, set });
      return set;
    },
  };
}

/** Build the proof file of reading `id` from the store and a node; verified before it is returned. */
export async function buildProof(
  client: ArchiClient,
  store: ReadingStore,
  id: string,
  chain: { crypto: 'standard' | 'gm' } & Trust,
  contract = IOT_CONTRACT,
): Promise<ReadingProofFile> {
  const stored = store.reading(id);
  if (!stored) throw codedError('IOT_NOT_FOUND', `no reading ${id} in the ingest store`);
  const batch = store.batch(stored.batch);
  if (!batch?.anchor) {
    throw codedError(
      'IOT_NOT_ANCHORED',
      `reading ${id} is in batch ${stored.batch}, not anchored yet`,
    );
  }
  const profile = getProfile(chain.crypto);
  const index = batch.ids.indexOf(id);
  const query = await client.query(
    contract,
    'proof',
    { device: stored.r.device, seq: batch.anchor.seq },
    { prove: true },
  );
  const file: ReadingProofFile = {
    format: PROOF_FORMAT,
    chainId: chain.chainId,
    crypto: chain.crypto,
    contract,
    reading: stored.r,
    batch: {
      seq: batch.anchor.seq,
      index,
      count: batch.ids.length,
      path: merklePath(profile, batch.ids, index),
    },
    query,
    blocks: [],
    validatorSets: [],
  };
  const light = new LightClient(profile, chain.chainId, {
    height: 1,
    validators: chain.validators,
  });
  await light.verifyQuery(recording(client, file), query);
  await verifyProof(file, chain);
  return file;
}

function bad(message: string): ArchiError {
  return codedError('IOT_BAD_PROOF', message);
}

/**
 * Check a proof file offline against `trust` (the genesis validators): the header through the
 * light client, the state proofs against its root, the reading's signature by the proven
 * device key, and its Merkle path to the proven batch root. Throws PROOF_INVALID or IOT_BAD_PROOF.
 */
export async function verifyProof(file: ReadingProofFile, trust: Trust): Promise<VerifiedReading> {
  if (file?.format !== PROOF_FORMAT) throw bad(`not a reading proof (${PROOF_FORMAT})`);
  if (file.chainId !== trust.chainId) {
    throw bad(
      `the proof is of chain ${file.chainId}, the trusted validators are of ${trust.chainId}`,
    );
  }
  const profile = getProfile(file.crypto);
  const blocks = Array.isArray(file.blocks) ? file.blocks : [];
  const sets = Array.isArray(file.validatorSets) ? file.validatorSets : [];
  const source: LightSource = {
    async getBlock(height) {
      const b = blocks.find((x) => x?.height === height);
      if (!b) throw proofInvalid(`the proof file has no block ${height}`);
      return b;
    },
    async validators(height) {
      const s = sets.find((x) => x?.height === height);
      if (!s) throw proofInvalid(`the proof file has no validator set of height ${height}`);
      return s.set;
    },
  };
  const light = new LightClient(profile, trust.chainId, {
    height: 1,
    validators: trust.validators,
  });
  const state = await light.verifyQuery(source, file.query);
  const proven = new Map((file.query.proof?.reads ?? []).map((r) => [r.key, r.value]));
  const recordOf = <T>(key: string): T => {
    const full = `${file.contract}/${key}`;
    const value = proven.get(full);
    if (value === undefined || value === null) throw bad(`the proof does not hold ${full}`);
    return JSON.parse(new TextDecoder().decode(unhex(value, full))) as T;
  };
  const r = file.reading;
  if (typeof r !== 'object' || r === null || typeof r.device !== 'string') throw bad('no reading');
  const device = recordOf<DeviceRecord>(keys.device(r.device));
  const anchor = recordOf<AnchorRecord>(keys.batch(file.batch?.seq));
  if (!verifyReading(profile, r, device.publicKey)) {
    throw bad(`reading ${r.id} is not signed by device ${device.id} (or its content was changed)`);
  }
  if (anchor.count !== file.batch.count || !Array.isArray(file.batch.path)) {
    throw bad(
      `batch ${anchor.seq} holds ${anchor.count} readings, the file says ${file.batch.count}`,
    );
  }
  if (!verifyMerklePath(profile, r.id, file.batch.path, anchor.root)) {
    throw bad(
      `reading ${r.id} is not in batch ${anchor.seq} (its path does not lead to the anchored root)`,
    );
  }
  return {
    verified: true,
    reading: r.id,
    device: {
      id: device.id,
      name: device.name,
      owner: device.owner,
      curve: device.curve,
      status: device.status,
    },
    anchored: {
      seq: anchor.seq,
      height: anchor.height,
      time: anchor.time,
      iso: new Date(anchor.time).toISOString(),
      org: anchor.org,
      txId: anchor.txId,
    },
    proofHeight: state.height,
    blockHash: state.blockHash,
    stateRoot: state.stateRoot,
  };
}

/** Read a proof file's JSON; IOT_BAD_PROOF when it is not JSON. */
export function parseProofFile(text: string): ReadingProofFile {
  try {
    return JSON.parse(text) as ReadingProofFile;
  } catch (e) {
    throw bad(`not JSON: ${(e as Error).message}`);
  }
}

/** The genesis validators of a genesis file's JSON. */
export function trustFromGenesis(
  g: { chainId?: unknown; validators?: unknown },
  path: string,
): Trust {
  if (typeof g?.chainId !== 'string' || !Array.isArray(g.validators)) {
    throw new ArchiError('CONFIG_INVALID', `${path} has no chainId and validators`);
  }
  return { chainId: g.chainId, validators: g.validators as ValidatorInput[] };
}
