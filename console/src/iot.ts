/**
 * The IoT page without React (docs/apps/iot.md): checking a reading proof file that
 * `archi iot prove` wrote, in the browser, as src/apps/iot/proof.ts's verifyProof checks it,
 * on the console's synchronous hashes and @noble/curves instead of node:crypto:
 * - the block at the proof's height is verified as src/sdk/light-client.ts verifies one, from
 *   the genesis validators through the blocks and validator sets the file carries: each header
 *   (decoded from the bytes its hash covers) names the set trusted for its height, and +2/3 of
 *   that set's power signed its commit;
 * - the device and batch records are proven against that header's state root;
 * - the reading is signed by the proven device key (ECDSA P-256, or SM2 with the default id);
 * - its Merkle path leads to the proven batch root.
 * The signed bytes of src/apps/iot/reading.ts and the path of merkle.ts are restated here, as
 * those modules reach Node's Buffer; iot.test.ts checks both agree. */
import { weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { p256 } from '@noble/curves/nist.js';
import { canonicalJson } from '../../src/apps/canonical-json.ts';
import { type AnchorRecord, type DeviceRecord, keys } from '../../src/apps/iot/rules.ts';
import {
  create,
  decode,
  encode,
  type Header,
  HeaderSchema,
  type Validator,
  ValidatorSchema,
  VoteBodySchema,
  VoteType,
} from '../../src/codec/index.ts';
import { merkleRoot } from '../../src/codec/merkle.ts';
import {
  addressOf,
  fromHex,
  hashFor,
  type ProofCheck,
  type ReadJson,
  toHex,
  verifyReads,
} from './chain.ts';

export type { AnchorRecord, DeviceRecord };

/** The contract the page reads. */
export const IOT = 'iot';

/** The format tag of a proof file (src/apps/iot/proof.ts's PROOF_FORMAT, which imports node modules). */
export const PROOF_FORMAT = 'archipelago-iot-proof/1';

/** What a checked proof establishes, or why it fails (the CLI's codes). */
export type ProofVerdict =
  | {
      ok: true;
      reading: SignedReading;
      device: DeviceRecord;
      anchored: AnchorRecord;
      proofHeight: number;
      blockHash: string;
      stateRoot: string;
    }
  | { ok: false; code: 'IOT_BAD_PROOF' | 'PROOF_INVALID'; reason: string };

/** The parts of a proof file the check reads. */
interface ProofFile {
  format: string;
  chainId: string;
  crypto: string;
  contract: string;
  reading: SignedReading;
  batch: { seq: number; index: number; count: number; path: Array<{ side: string; hash: string }> };
  query: { proof?: { height: number; stateRoot: string; reads: ReadJson[] } };
  blocks: BlockJsonLike[];
  validatorSets: Array<{ height: number; set: { validators: ValidatorJson[] } }>;
}

/** A reading as a device publishes it (src/apps/iot/reading.ts). */
export interface SignedReading {
  id: string;
  device: string;
  seq?: number;
  ts: number;
  data: unknown;
  sig: string;
}

/** One step of a Merkle path (src/apps/iot/merkle.ts). */
export interface PathStep {
  side: 'left' | 'right';
  hash: string;
}

const DOMAIN = new TextEncoder().encode('archipelago-iot-reading/1\n');

/**
 * The bytes a device signs, as src/apps/iot/reading.ts's readingBytes makes them (that module
 * reaches Node's Buffer through types/hex.ts; iot.test.ts checks both agree).
 */
export function readingBytes(r: Pick<SignedReading, 'device' | 'seq' | 'ts' | 'data'>): Uint8Array {
  const body: Record<string, unknown> = { device: r.device, ts: r.ts, data: r.data };
  if (r.seq !== undefined) body.seq = r.seq;
  return concat([DOMAIN, new TextEncoder().encode(canonicalJson(body))]);
}

/**
 * Whether `path` leads from reading `id` to `root` in the batch tree of src/apps/iot/merkle.ts:
 * leaves H(0x00 || id), nodes H(0x01 || left || right).
 */
export function verifyMerklePath(
  crypto: string,
  id: string,
  path: PathStep[],
  root: string,
): boolean {
  try {
    const hash = hashFor(crypto);
    let h = hash(concat([new Uint8Array([0]), fromHex(id)]));
    for (const step of path) {
      const s = fromHex(step.hash);
      if (step.side === 'left') h = hash(concat([new Uint8Array([1]), s, h]));
      else if (step.side === 'right') h = hash(concat([new Uint8Array([1]), h, s]));
      else return false;
    }
    return toHex(h) === root;
  } catch {
    return false;
  }
}

/** r and s of a DER SEQUENCE { INTEGER r, INTEGER s }; throws on anything else. */
function derSignature(der: Uint8Array): { r: bigint; s: bigint } {
  let pos = 0;
  const len = (): number => {
    const b = der[pos++];
    if (b === undefined) throw new Error('truncated');
    if (b < 0x80) return b;
    if (b !== 0x81) throw new Error('bad length');
    const v = der[pos++];
    if (v === undefined || v < 0x80) throw new Error('bad length');
    return v;
  };
  if (der[pos++] !== 0x30) throw new Error('not a SEQUENCE');
  if (len() !== der.length - pos) throw new Error('bad SEQUENCE length');
  const int = (): bigint => {
    if (der[pos++] !== 0x02) throw new Error('not an INTEGER');
    const n = len();
    const body = der.subarray(pos, pos + n);
    if (n === 0 || body.length !== n || body[0] & 0x80) throw new Error('bad INTEGER');
    if (n > 1 && body[0] === 0 && !(body[1] & 0x80)) throw new Error('non-minimal INTEGER');
    pos += n;
    return BigInt(`0x${toHex(body)}`);
  };
  const r = int();
  const s = int();
  if (pos !== der.length) throw new Error('trailing bytes');
  return { r, s };
}

const SM2 = {
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
  h: 1n,
};
let sm2Point: ReturnType<typeof weierstrass<bigint>> | undefined;

const be32 = (v: bigint) => fromHex(v.toString(16).padStart(64, '0'));

/** SM2 with SM3 and the default signer id (GM/T 0009), as src/crypto/sm2.ts signs. */
function verifySm2(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  sm2Point ??= weierstrass(SM2);
  const sm3 = hashFor('gm');
  const { r, s } = derSignature(signature);
  if (r < 1n || r >= SM2.n || s < 1n || s >= SM2.n) return false;
  const id = new TextEncoder().encode('1234567812345678');
  const z = sm3(
    concat([
      new Uint8Array([(id.length * 8) >> 8, (id.length * 8) & 0xff]),
      id,
      be32(SM2.a),
      be32(SM2.b),
      be32(SM2.Gx),
      be32(SM2.Gy),
      publicKey.subarray(1),
    ]),
  );
  const e = BigInt(`0x${toHex(sm3(concat([z, message])))}`);
  const t = (r + s) % SM2.n;
  if (t === 0n) return false;
  const q = sm2Point.fromBytes(publicKey);
  const p = sm2Point.BASE.multiplyUnsafe(s).add(q.multiplyUnsafe(t));
  if (p.is0()) return false;
  return (e + p.toAffine().x) % SM2.n === r;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Whether `sig` (DER hex) is the signature of `publicKeyHex` over `message` under the chain's
 * profile: ECDSA P-256 with SHA-256 (high S accepted, as OpenSSL does), or SM2 with SM3.
 */
export function verifySignature(
  crypto: string,
  publicKeyHex: string,
  message: Uint8Array,
  sigHex: string,
): boolean {
  try {
    const key = fromHex(publicKeyHex);
    const sig = fromHex(sigHex);
    if (key.length !== 65 || key[0] !== 4) return false;
    if (crypto === 'gm') return verifySm2(key, message, sig);
    derSignature(sig);
    return p256.verify(sig, hashFor('standard')(message), key, {
      prehash: false,
      lowS: false,
      format: 'der',
    });
  } catch {
    return false;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse a proof file's text; a text that is not a JSON object is null. */
export function parseProof(text: string): unknown {
  try {
    const v = JSON.parse(text);
    return isObj(v) ? v : null;
  } catch {
    return null;
  }
}

/** The height whose header the file's proof stands on, or null when it has none. */
export function proofHeight(file: unknown): number | null {
  const h =
    isObj(file) && isObj(file.query) && isObj(file.query.proof) ? file.query.proof.height : null;
  return typeof h === 'number' && Number.isSafeInteger(h) && h > 0 ? h : null;
}

/** A validator as /v1/validators and genesis list them (public key in hex). */
export interface ValidatorJson {
  name: string;
  org: string;
  publicKey: string;
  power: number | string;
}

function toValidators(list: ValidatorJson[]): Validator[] {
  if (!Array.isArray(list)) throw new Error('a validator set must be a list');
  return list.map((v) =>
    create(ValidatorSchema, {
      name: v.name,
      org: v.org,
      publicKey: fromHex(v.publicKey),
      power: BigInt(v.power),
    }),
  );
}

/** A header's validatorsHash for `set`: the Merkle root of the encoded validators. */
export function validatorSetHash(crypto: string, set: Validator[]): string {
  return toHex(
    merkleRoot(
      hashFor(crypto),
      set.map((v) => encode(ValidatorSchema, v)),
    ),
  );
}

interface BlockJsonLike {
  height: number;
  hash: string;
  headerBytes: string;
  commit?: {
    height: number;
    round: number;
    blockHash: string;
    signatures: Array<{ validator: string; timestamp: number; signature: string }>;
  } | null;
}

/**
 * The header of `block` at `height` of chain `chainId`, if it names `set` as its validators
 * and more than 2/3 of their power signed its commit; throws with the reason otherwise.
 */
function checkSigned(
  crypto: string,
  chainId: string,
  block: BlockJsonLike,
  height: number,
  set: Validator[],
): Header {
  const bytes = fromHex(block.headerBytes);
  const blockHash = hashFor(crypto)(bytes);
  if (toHex(blockHash) !== String(block.hash).toLowerCase()) {
    throw new Error(`block ${height}: its hash is not the hash of its header bytes`);
  }
  const header = decode(HeaderSchema, bytes);
  if (Number(header.height) !== height)
    throw new Error(`block ${height}: header is at ${header.height}`);
  if (header.chainId !== chainId) throw new Error(`block ${height} is of chain ${header.chainId}`);
  if (toHex(header.validatorsHash) !== validatorSetHash(crypto, set)) {
    throw new Error(`block ${height} names a validator set other than the trusted one`);
  }
  const c = block.commit;
  if (!c) throw new Error(`block ${height} carries no commit to check`);
  if (Number(c.height) !== height || String(c.blockHash).toLowerCase() !== toHex(blockHash)) {
    throw new Error(`the commit of block ${height} is for another block`);
  }
  const byAddress = new Map(set.map((v) => [addressOf(crypto, toHex(v.publicKey)), v]));
  const total = set.reduce((n, v) => n + Number(v.power), 0);
  const counted = new Set<string>();
  let signed = 0;
  for (const sig of c.signatures ?? []) {
    const addr = String(sig.validator).toLowerCase();
    const v = byAddress.get(addr);
    if (!v || counted.has(addr)) continue;
    const body = encode(
      VoteBodySchema,
      create(VoteBodySchema, {
        chainId,
        type: VoteType.PRECOMMIT,
        height: BigInt(height),
        round: c.round,
        blockHash,
        timestamp: BigInt(sig.timestamp),
        validator: fromHex(addr),
      }),
    );
    if (!verifySignature(crypto, toHex(v.publicKey), body, sig.signature)) {
      throw new Error(`the commit of block ${height} has a bad signature from validator ${v.name}`);
    }
    counted.add(addr);
    signed += Number(v.power);
  }
  if (signed * 3 <= total * 2) {
    throw new Error(`block ${height}: only ${signed} of ${total} voting power signed`);
  }
  return header;
}

/**
 * Verify the block at `target` from the validators trusted at height 1, with the blocks and
 * validator sets of a proof file as the only source (src/sdk/light-client.ts's verifyBlock:
 * skip straight to `target` when the trusted set signed it, else walk header by header,
 * taking each next set only when its hash is the one the verified header names).
 */
export function verifyHeaderFrom(
  crypto: string,
  chainId: string,
  genesis: ValidatorJson[],
  blocks: BlockJsonLike[],
  sets: Array<{ height: number; set: { validators: ValidatorJson[] } }>,
  target: number,
): Header {
  let skipped: Error | null = null;
  const blockAt = (h: number) => {
    const b = blocks.find((x) => x?.height === h);
    // A file made by skipping holds only the target: its refusal is the reason to tell.
    if (!b) throw skipped ?? new Error(`the proof file has no block ${h}`);
    return b;
  };
  let height = 1;
  let set = toValidators(genesis);
  if (set.length === 0) throw new Error('the trusted validator set is empty');
  const last = blockAt(target);
  if (target > height) {
    try {
      return checkSigned(crypto, chainId, last, target, set);
    } catch (e) {
      // The set changed on the way (or the block was altered): walk.
      skipped = e as Error;
    }
  }
  while (height < target) {
    const header = checkSigned(crypto, chainId, blockAt(height), height, set);
    const want = toHex(header.nextValidatorsHash);
    if (want !== validatorSetHash(crypto, set)) {
      const next = sets.find((x) => x?.height === height + 1);
      if (!next) throw new Error(`the proof file has no validator set of height ${height + 1}`);
      set = toValidators(next.set?.validators);
      if (validatorSetHash(crypto, set) !== want) {
        throw new Error(
          `the validator set for height ${height + 1} is not the one block ${height} names`,
        );
      }
    }
    height += 1;
  }
  return checkSigned(crypto, chainId, last, target, set);
}

/**
 * Check a proof file (parsed JSON) for the chain `chain` (its id, crypto profile and the
 * validators that decided height 1). Never throws.
 */
export function checkProof(
  raw: unknown,
  chain: { chainId: string; crypto: string; genesis: ValidatorJson[] },
): ProofVerdict {
  const bad = (reason: string): ProofVerdict => ({ ok: false, code: 'IOT_BAD_PROOF', reason });
  const invalid = (reason: string): ProofVerdict => ({ ok: false, code: 'PROOF_INVALID', reason });
  if (!isObj(raw) || raw.format !== PROOF_FORMAT)
    return bad(`not a reading proof (${PROOF_FORMAT})`);
  const file = raw as unknown as ProofFile;
  if (file.chainId !== chain.chainId) {
    return bad(`the proof is of chain ${file.chainId}, this console reads ${chain.chainId}`);
  }
  if (file.crypto !== chain.crypto) {
    return bad(`the proof is of a ${file.crypto} chain, this chain is ${chain.crypto}`);
  }
  const proof = file.query?.proof;
  const height = proofHeight(file);
  if (!proof || height === null || !Array.isArray(proof.reads)) {
    return invalid('the query answer carries no state proof');
  }
  const blocks = Array.isArray(file.blocks) ? file.blocks : [];
  try {
    verifyHeaderFrom(
      chain.crypto,
      chain.chainId,
      chain.genesis,
      blocks,
      Array.isArray(file.validatorSets) ? file.validatorSets : [],
      height,
    );
  } catch (e) {
    return invalid((e as Error).message);
  }
  const block = blocks.find((b) => b?.height === height)!;
  const check: ProofCheck = verifyReads(chain.crypto, block, height, proof.stateRoot, proof.reads);
  if (!check.ok) return invalid(check.reason);
  const values = new Map(proof.reads.map((r) => [r.key, r.value]));
  const record = <T>(key: string): T | string => {
    const full = `${file.contract}/${key}`;
    const v = values.get(full);
    if (v === undefined || v === null) return `the proof does not hold ${full}`;
    try {
      return JSON.parse(new TextDecoder().decode(fromHex(v))) as T;
    } catch {
      return `${full} is not a JSON record`;
    }
  };
  const r = file.reading;
  if (!isObj(r) || typeof r.device !== 'string' || typeof r.id !== 'string')
    return bad('no reading');
  const device = record<DeviceRecord>(keys.device(r.device));
  if (typeof device === 'string') return bad(device);
  if (!isObj(file.batch) || !Number.isSafeInteger(file.batch.seq)) return bad('no batch');
  const anchored = record<AnchorRecord>(keys.batch(file.batch.seq));
  if (typeof anchored === 'string') return bad(anchored);
  let bytes: Uint8Array;
  try {
    bytes = readingBytes(r);
  } catch {
    return bad('the reading does not encode');
  }
  const id = toHex(hashFor(chain.crypto)(bytes));
  if (id !== r.id || !verifySignature(chain.crypto, device.publicKey, bytes, String(r.sig))) {
    return bad(`reading ${r.id} is not signed by device ${device.id} (or its content was changed)`);
  }
  if (anchored.count !== file.batch.count || !Array.isArray(file.batch.path)) {
    return bad(
      `batch ${anchored.seq} holds ${anchored.count} readings, the file says ${file.batch.count}`,
    );
  }
  if (!verifyMerklePath(chain.crypto, r.id, file.batch.path as PathStep[], anchored.root)) {
    return bad(
      `reading ${r.id} is not in batch ${anchored.seq} (its path does not lead to the anchored root)`,
    );
  }
  return {
    ok: true,
    reading: r,
    device,
    anchored,
    proofHeight: height,
    blockHash: check.blockHash,
    stateRoot: check.stateRoot,
  };
}
