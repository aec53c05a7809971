// SM2 digital signatures (GB/T 32918.2-2016, GM/T 0003.2-2012) on top of
// @noble/curves' generic short-Weierstrass arithmetic.
//
// Why not node:crypto: Node (OpenSSL 3.0) does run real SM2 for an SM2 key, but
// through EVP_DigestSign with an EMPTY distinguishing ID (ENTL = 0), and Node has
// no way to pass `distid`. Those signatures therefore only verify with
// `openssl pkeyutl ... -digest sm3` *without* `-pkeyopt distid:...` and never
// with the GM/T 0009 default ID "1234567812345678" that the GM ecosystem (and
// this chain) uses. Node also cannot export SM2 keys (no JWK, no key type).
//
// Signing uses noble's blinded, table-driven multiply() (JS BigInt is never truly
// constant-time; this is the best available in JS). Verification handles only
// public data, so it takes the faster variable-time path in ec-verify.ts plus a
// cache of decoded keys, their Z values and, for busy keys, per-key tables.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  type WeierstrassPoint,
  type WeierstrassPointCons,
  weierstrass,
} from '@noble/curves/abstract/weierstrass.js';
import { asU8, bigIntToBytes, bytesToBigInt, concatBytes, utf8Encode } from './bytes.ts';
import { decodeSignature, encodeSignature } from './der.ts';
import { type FixedWindowTable, JacobianVerifier, type OddMultiples } from './ec-verify.ts';
import { CryptoError } from './errors.ts';

/** Short-Weierstrass domain parameters y^2 = x^3 + ax + b over GF(p), base point order n. */
export interface Sm2CurveParams {
  p: bigint;
  a: bigint;
  b: bigint;
  n: bigint;
  Gx: bigint;
  Gy: bigint;
}

/** The SM2 recommended curve (GB/T 32918.5), OID 1.2.156.10197.1.301. */
export const SM2_CURVE: Readonly<Sm2CurveParams> = Object.freeze({
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
});

/** GM/T 0009-2012 §10 default signer ID, used whenever no other ID is agreed. */
export const SM2_DEFAULT_ID = '1234567812345678';
// Kept private: an exported Uint8Array could be mutated by any importer.
const DEFAULT_ID_BYTES = utf8Encode(SM2_DEFAULT_ID);

/** Tuning for the verification key cache (see Sm2Engine.configureCache). */
export interface Sm2CacheOptions {
  /** Decoded public keys (+ their default-ID Z) kept, LRU. A few hundred bytes each. */
  maxKeys: number;
  /** Keys that also get a fixed-window table (~70 KB each at window 5), chosen by use frequency. */
  maxTabledKeys: number;
  /** Window for per-key tables (5: 832 points, ~4-7 ms to build; 6: 1408 points). */
  tableWindow: number;
  /** Uses (halved every 65536 lookups) before a key earns a table; one build ~ 10 cold verifies. */
  hotThreshold: number;
}

type Point = WeierstrassPoint<bigint>;

interface KeyEntry {
  point: Point;
  z: Uint8Array;
  uses: number;
  /** Per-key fixed-window table (hot keys, fast path only). */
  table?: FixedWindowTable;
  /** NAF odd multiples, cheap enough to keep for every cached key. */
  odd?: OddMultiples;
}

/** A signer bound to one private key, with its Z and (1+d)^-1 precomputed. */
export interface Sm2Signer {
  readonly publicKey: Uint8Array;
  /** Signs SM3(Z || message) and returns a DER SEQUENCE { r, s }. */
  sign(message: Uint8Array): Uint8Array;
}

const AGING_INTERVAL = 1 << 16;

const DEFAULT_CACHE: Sm2CacheOptions = {
  maxKeys: 4096,
  maxTabledKeys: 256,
  tableWindow: 5,
  hotThreshold: 8,
};

function cacheKey(publicKey: Uint8Array): string {
  return Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString(
    'latin1',
  );
}

/** SM2 over a given curve; `sm2` below is the instance for the recommended curve. */
export class Sm2Engine {
  readonly Point: WeierstrassPointCons<bigint>;
  readonly n: bigint;
  private readonly fieldBytes: number;
  private readonly zPrefix: Uint8Array;
  private readonly fast: JacobianVerifier | undefined;
  private readonly baseWindow: number;
  private baseTable: FixedWindowTable | undefined;
  private readonly keys = new Map<string, KeyEntry>();
  private readonly tabled = new Map<string, KeyEntry>();
  private cache: Sm2CacheOptions = { ...DEFAULT_CACHE };
  private lookups = 0;

  /** `baseWindow` sizes the generator table (8: ~60 ms once, fastest sign/verify). */
  constructor(params: Sm2CurveParams, baseWindow = 8) {
    this.Point = weierstrass({ ...params, h: 1n });
    this.n = params.n;
    this.fieldBytes = Math.ceil(params.p.toString(16).length / 2);
    const w = this.fieldBytes;
    this.zPrefix = concatBytes(
      bigIntToBytes(params.a, w),
      bigIntToBytes(params.b, w),
      bigIntToBytes(params.Gx, w),
      bigIntToBytes(params.Gy, w),
    );
    // Lazy: tables are built on first use, so merely importing costs nothing.
    this.Point.BASE.precompute(baseWindow);
    this.baseWindow = baseWindow;
    this.fast = JacobianVerifier.supports(this.Point)
      ? new JacobianVerifier(this.Point)
      : undefined;
  }

  /** Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) for a 0x04||X||Y public key. */
  computeZ(publicKey: Uint8Array, id: Uint8Array = DEFAULT_ID_BYTES): Uint8Array {
    const entl = id.length * 8;
    if (entl > 0xffff) throw new CryptoError('CRYPTO_BAD_ID', 'SM2 ID longer than 8191 bytes');
    if (publicKey.length !== 1 + 2 * this.fieldBytes || publicKey[0] !== 4) {
      throw new CryptoError('CRYPTO_BAD_KEY', 'SM2 public key must be an uncompressed point');
    }
    return asU8(
      createHash('sm3')
        .update(Uint8Array.of(entl >> 8, entl & 0xff))
        .update(id)
        .update(this.zPrefix)
        .update(publicKey.subarray(1))
        .digest(),
    );
  }

  /** e = SM3(Z || M) as an integer. */
  digest(z: Uint8Array, message: Uint8Array): bigint {
    return bytesToBigInt(createHash('sm3').update(z).update(message).digest());
  }

  /** Uniform private key in [1, n-2] (n-1 is excluded because 1+d must be invertible). */
  randomPrivateKey(): bigint {
    return (bytesToBigInt(randomBytes(this.fieldBytes + 16)) % (this.n - 2n)) + 1n;
  }

  /** Checks the private key range required by GB/T 32918.1 §6.1. */
  assertPrivateKey(d: bigint): void {
    if (d < 1n || d > this.n - 2n)
      throw new CryptoError('CRYPTO_BAD_KEY', 'SM2 private key out of range');
  }

  /** Uncompressed public key 0x04||X||Y for a private scalar. */
  publicKeyFromPrivate(d: bigint): Uint8Array {
    this.assertPrivateKey(d);
    return asU8(this.Point.BASE.multiply(d).toBytes(false));
  }

  /** Decodes and validates a public key (on curve, not infinity); throws CryptoError. */
  decodePublicKey(publicKey: Uint8Array): Point {
    if (publicKey.length !== 1 + 2 * this.fieldBytes || publicKey[0] !== 4) {
      throw new CryptoError(
        'CRYPTO_BAD_KEY',
        'SM2 public key must be a 65-byte uncompressed point',
      );
    }
    try {
      const p = this.Point.fromBytes(publicKey);
      p.assertValidity();
      return p;
    } catch {
      throw new CryptoError('CRYPTO_BAD_KEY', 'SM2 public key is not a valid curve point');
    }
  }

  /** Signature core on a ready digest e; `k` is only for known-answer tests (never reuse one). */
  signDigest(d: bigint, e: bigint, k?: bigint, invOnePlusD?: bigint): { r: bigint; s: bigint } {
    const { n } = this;
    const Fn = this.Point.Fn;
    const inv = invOnePlusD ?? this.invOnePlusD(d);
    for (let attempt = 0; attempt < 64; attempt++) {
      const kk = k ?? this.nonce(d, e);
      if (kk < 1n || kk >= n) throw new CryptoError('CRYPTO_BAD_NONCE', 'nonce out of range');
      const x1 = this.Point.BASE.multiply(kk).toAffine().x;
      const r = Fn.create(e + x1);
      if (r === 0n || r + kk === n) {
        if (k !== undefined) break;
        continue;
      }
      const s = Fn.mul(inv, Fn.sub(kk, Fn.mul(r, d)));
      if (s === 0n) {
        if (k !== undefined) break;
        continue;
      }
      return { r, s };
    }
    throw new CryptoError('CRYPTO_SIGN_FAILED', 'could not produce an SM2 signature');
  }

  /** Verification core on a ready digest e and decoded point. */
  verifyDigest(point: Point, e: bigint, r: bigint, s: bigint): boolean {
    return this.verifyEntry({ point, z: new Uint8Array(0), uses: 0 }, e, r, s);
  }

  private verifyEntry(entry: KeyEntry, e: bigint, r: bigint, s: bigint): boolean {
    const { n } = this;
    if (r < 1n || r >= n || s < 1n || s >= n) return false;
    const t = (r + s) % n;
    if (t === 0n) return false;
    let x1: bigint | undefined;
    if (this.fast) {
      this.baseTable ??= this.fast.fixedTable(this.Point.BASE, this.baseWindow);
      entry.odd ??= entry.table ? undefined : this.fast.oddMultiples(entry.point);
      x1 = this.fast.mulAddX(this.baseTable, s, entry.table ?? entry.odd!, t);
    } else {
      const sum = this.Point.BASE.multiplyUnsafe(s).add(entry.point.multiplyUnsafe(t));
      x1 = sum.is0() ? undefined : sum.toAffine().x;
    }
    return x1 !== undefined && (e + x1) % n === r;
  }

  /** Signs with a raw private scalar (profile code should prefer createSigner). */
  sign(d: bigint, message: Uint8Array, id: Uint8Array = DEFAULT_ID_BYTES): Uint8Array {
    const pub = this.publicKeyFromPrivate(d);
    const { r, s } = this.signDigest(d, this.digest(this.computeZ(pub, id), message));
    return encodeSignature(r, s);
  }

  /** Builds a signer that caches Z and (1+d)^-1 for repeated signing. */
  createSigner(d: bigint, id: Uint8Array = DEFAULT_ID_BYTES): Sm2Signer {
    const publicKey = this.publicKeyFromPrivate(d);
    const z = this.computeZ(publicKey, id);
    const inv = this.invOnePlusD(d);
    return {
      publicKey,
      sign: (message: Uint8Array): Uint8Array => {
        const { r, s } = this.signDigest(d, this.digest(z, message), undefined, inv);
        return encodeSignature(r, s);
      },
    };
  }

  /** Verifies a DER signature; returns false (never throws) on any malformed input. */
  verify(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    id?: Uint8Array,
  ): boolean {
    try {
      const { r, s } = decodeSignature(signature);
      const entry = this.lookup(publicKey);
      const z = id === undefined ? entry.z : this.computeZ(publicKey, id);
      return this.verifyEntry(entry, this.digest(z, message), r, s);
    } catch {
      return false;
    }
  }

  /** Builds the generator tables now (~60-150 ms) instead of on the first sign/verify. */
  warmUp(): void {
    if (this.fast) this.baseTable ??= this.fast.fixedTable(this.Point.BASE, this.baseWindow);
    this.Point.BASE.multiply(1n);
    this.Point.BASE.multiplyUnsafe(1n);
  }

  /** Adjusts the public-key cache; shrinking evicts immediately. */
  configureCache(options: Partial<Sm2CacheOptions>): void {
    const next = { ...this.cache, ...options };
    for (const [k, v] of Object.entries(next)) {
      if (!Number.isInteger(v) || v < 0) throw new CryptoError('CRYPTO_BAD_OPTION', `bad ${k}`);
    }
    if (next.tableWindow < 2 || next.tableWindow > 8) {
      throw new CryptoError('CRYPTO_BAD_OPTION', 'tableWindow must be 2..8');
    }
    const windowChanged = next.tableWindow !== this.cache.tableWindow;
    this.cache = next;
    if (windowChanged || this.tabled.size > next.maxTabledKeys) {
      while (this.tabled.size) this.untable(this.tabled.keys().next().value!);
    }
    while (this.keys.size > next.maxKeys) this.evictOne();
  }

  /** Drops every cached key and table. */
  clearCache(): void {
    this.keys.clear();
    this.tabled.clear();
  }

  /** Cache occupancy, for metrics and tests. */
  cacheStats(): { keys: number; tabledKeys: number } {
    return { keys: this.keys.size, tabledKeys: this.tabled.size };
  }

  /** Whether a public key currently has its own precomputed table. */
  hasTable(publicKey: Uint8Array): boolean {
    return this.keys.get(cacheKey(publicKey))?.table !== undefined;
  }

  private lookup(publicKey: Uint8Array): KeyEntry {
    const key = cacheKey(publicKey);
    let entry = this.keys.get(key);
    if (entry) {
      // Re-insert to keep Map iteration order = least recently used first.
      this.keys.delete(key);
      this.keys.set(key, entry);
    } else {
      entry = {
        point: this.decodePublicKey(publicKey),
        z: this.computeZ(publicKey),
        uses: 0,
      };
      if (this.cache.maxKeys === 0) return entry;
      this.keys.set(key, entry);
      while (this.keys.size > this.cache.maxKeys) this.evictOne();
      if (this.keys.get(key) !== entry) return entry;
    }
    entry.uses++;
    if (++this.lookups >= AGING_INTERVAL) this.age();
    if (
      this.fast &&
      !entry.table &&
      entry.uses >= this.cache.hotThreshold &&
      this.cache.maxTabledKeys > 0
    ) {
      this.maybeTable(key, entry);
    }
    return entry;
  }

  // Admission is frequency-based, not LRU: with more hot signers than table
  // slots, LRU would rebuild a ~20 ms table on nearly every verification
  // (measured: slower than no tables at all). A newcomer only displaces the
  // least-used tabled key when it is clearly (2x) busier.
  private maybeTable(key: string, entry: KeyEntry): void {
    if (this.tabled.size >= this.cache.maxTabledKeys) {
      let victim: string | undefined;
      let victimUses = Number.POSITIVE_INFINITY;
      for (const [k, e] of this.tabled) {
        if (e.uses < victimUses) {
          victim = k;
          victimUses = e.uses;
        }
      }
      if (victim === undefined || entry.uses <= 2 * victimUses) return;
      this.untable(victim);
    }
    entry.table = this.fast!.fixedTable(entry.point, this.cache.tableWindow);
    entry.odd = undefined;
    this.tabled.set(key, entry);
  }

  // Halving every counter periodically lets yesterday's busy signer cool down.
  private age(): void {
    this.lookups = 0;
    for (const e of this.keys.values()) e.uses >>= 1;
  }

  // Evicts the least recently used key that has no table, so a flood of one-off
  // keys (e.g. spam transactions) cannot flush the tables of busy signers.
  private evictOne(): void {
    let victim: string | undefined;
    for (const [k, e] of this.keys) {
      if (!e.table) {
        victim = k;
        break;
      }
    }
    victim ??= this.keys.keys().next().value!;
    this.keys.delete(victim);
    this.untable(victim);
  }

  private untable(key: string): void {
    const entry = this.tabled.get(key);
    this.tabled.delete(key);
    if (entry) entry.table = undefined;
  }

  private invOnePlusD(d: bigint): bigint {
    this.assertPrivateKey(d);
    const Fn = this.Point.Fn;
    // Blind the inversion input so its variable-time Euclid does not see d directly.
    const b = this.randomPrivateKey();
    return Fn.mul(Fn.inv(Fn.mul(b, d + 1n)), b);
  }

  // Hedged nonce: fresh randomness mixed with the key and digest, so a weak RNG
  // alone cannot repeat k across different messages (the classic key leak).
  private nonce(d: bigint, e: bigint): bigint {
    const w = this.fieldBytes;
    const key = bigIntToBytes(d, w);
    const rnd = randomBytes(32);
    const eb = bigIntToBytes(e % 2n ** BigInt(w * 8), w);
    const h1 = createHmac('sm3', key).update(Uint8Array.of(1)).update(rnd).update(eb).digest();
    const h2 = createHmac('sm3', key).update(Uint8Array.of(2)).update(rnd).update(eb).digest();
    return (bytesToBigInt(concatBytes(h1, h2)) % (this.n - 1n)) + 1n;
  }
}

/** SM2 on the recommended curve with the default cache configuration. */
export const sm2: Sm2Engine = new Sm2Engine(SM2_CURVE);
