/**
 * The IoT page without React (docs/apps/iot.md): checking a reading proof file that
 * `archi iot prove` wrote, in the browser. The checks are those of src/apps/iot/proof.ts's
 * verifyProof, on the console's synchronous hashes instead of node:crypto (the signed bytes of
 * reading.ts and the Merkle path of merkle.ts are restated here because those modules reach
 * Node's Buffer; iot.test.ts checks they agree): the block in the file hashes to its header, whose state root the device and
 * batch reads prove against; the reading is signed by the proven device key (ECDSA P-256 or
 * SM2, here with @noble/curves); its Merkle path leads to the proven batch root. The header
 * itself is trusted when the node the console reads serves the same block hash at that height
 * (the console's trust, as for every proof it checks); the CLI checks the commit signatures
 * from the genesis validators instead.
 */
import { weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { p256 } from '@noble/curves/nist.js';
import { canonicalJson } from '../../src/apps/canonical-json.ts';
import { type AnchorRecord, type DeviceRecord, keys } from '../../src/apps/iot/rules.ts';
import { fromHex, hashFor, type ProofCheck, type ReadJson, toHex, verifyReads } from './chain.ts';

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
  blocks: Array<{ height: number; hash: string; headerBytes: string }>;
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

/**
 * Check a proof file (parsed JSON) for the chain `chain` (its id and crypto profile), whose
 * block at the proof's height the console's node says hashes to `trustedHash`. Never throws.
 */
export function checkProof(
  raw: unknown,
  chain: { chainId: string; crypto: string },
  trustedHash: string,
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
  const block = (Array.isArray(file.blocks) ? file.blocks : []).find((b) => b?.height === height);
  if (!block) return invalid(`the proof file has no block ${height}`);
  const check: ProofCheck = verifyReads(chain.crypto, block, height, proof.stateRoot, proof.reads);
  if (!check.ok) return invalid(check.reason);
  if (check.blockHash !== String(trustedHash).toLowerCase()) {
    return invalid(`block ${height} of the file is not the block the chain holds at that height`);
  }
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
