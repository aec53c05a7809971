// Minimal strict DER codec for the few structures the crypto layer needs outside
// X.509 (SPKI, PKCS#8, SEC1, ECDSA/SM2 signatures). Strictness matters: every
// signature and key must have exactly one accepted encoding, or two nodes could
// disagree about whether bytes are "the same" signature.
import { CryptoError } from './errors.ts';

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;

/** One parsed tag-length-value: `start` is the tag offset, content is [contentStart, end). */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function malformed(what: string): never {
  throw new CryptoError('DER_MALFORMED', `malformed DER: ${what}`);
}

/** Reads one TLV at `offset`, rejecting indefinite, non-minimal and overlong lengths. */
export function readTlv(buf: Uint8Array, offset: number, limit: number = buf.length): Tlv {
  if (offset + 2 > limit) malformed('truncated header');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) malformed('multi-byte tags are not supported');
  let len = buf[offset + 1];
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) malformed('indefinite length');
    if (n > 4) malformed('length too large');
    if (pos + n > limit) malformed('truncated length');
    if (buf[pos] === 0) malformed('non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i];
    if (len < 0x80) malformed('non-minimal length');
    pos += n;
  }
  if (pos + len > limit) malformed('truncated content');
  return { tag, start: offset, contentStart: pos, end: pos + len };
}

/** Reads a whole buffer as exactly one TLV with the expected tag. */
export function readRoot(buf: Uint8Array, tag: number): Tlv {
  const tlv = readTlv(buf, 0);
  if (tlv.tag !== tag) malformed(`expected tag 0x${tag.toString(16)}`);
  if (tlv.end !== buf.length) malformed('trailing bytes');
  return tlv;
}

/** Splits a constructed TLV into its direct children. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.contentStart;
  while (pos < parent.end) {
    const t = readTlv(buf, pos, parent.end);
    out.push(t);
    pos = t.end;
  }
  return out;
}

/** Content bytes of a TLV (a view, not a copy). */
export function contentOf(buf: Uint8Array, tlv: Tlv): Uint8Array {
  return buf.subarray(tlv.contentStart, tlv.end);
}

/** Asserts a TLV has the given tag, for readable parsers. */
export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) malformed(`expected ${what}`);
  return tlv;
}

/** Decodes a non-negative minimal INTEGER. */
export function readUnsignedInteger(buf: Uint8Array, tlv: Tlv): bigint {
  expectTag(tlv, TAG_INTEGER, 'INTEGER');
  const c = contentOf(buf, tlv);
  if (c.length === 0) malformed('empty INTEGER');
  if (c[0] & 0x80) malformed('negative INTEGER');
  if (c.length > 1 && c[0] === 0 && !(c[1] & 0x80)) malformed('non-minimal INTEGER');
  let hex = '';
  for (const b of c) hex += b.toString(16).padStart(2, '0');
  return BigInt(`0x${hex}`);
}

/** Decodes an OBJECT IDENTIFIER to dotted form. */
export function readOid(buf: Uint8Array, tlv: Tlv): string {
  expectTag(tlv, TAG_OID, 'OBJECT IDENTIFIER');
  const c = contentOf(buf, tlv);
  if (c.length === 0) malformed('empty OID');
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < c.length; i++) {
    if (v === 0 && c[i] === 0x80) malformed('non-minimal OID arc');
    v = v * 128 + (c[i] & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) malformed('OID arc too large');
    if (!(c[i] & 0x80)) {
      arcs.push(v);
      v = 0;
    } else if (i === c.length - 1) {
      malformed('truncated OID');
    }
  }
  const first = arcs[0] < 80 ? Math.floor(arcs[0] / 40) : 2;
  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join('.');
}

/** Decodes a BIT STRING with no unused bits. */
export function readBitString(buf: Uint8Array, tlv: Tlv): Uint8Array {
  expectTag(tlv, TAG_BIT_STRING, 'BIT STRING');
  const c = contentOf(buf, tlv);
  if (c.length === 0 || c[0] !== 0) malformed('BIT STRING with unused bits');
  return c.subarray(1);
}

function encodeLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  const bytes: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Encodes one TLV. */
export function encodeTlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const c of content) len += c.length;
  const header = encodeLength(len);
  const out = new Uint8Array(1 + header.length + len);
  out[0] = tag;
  out.set(header, 1);
  let off = 1 + header.length;
  for (const c of content) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Encodes a SEQUENCE of already-encoded elements. */
export function encodeSequence(...items: Uint8Array[]): Uint8Array {
  return encodeTlv(TAG_SEQUENCE, ...items);
}

/** Encodes a non-negative bigint as a minimal INTEGER. */
export function encodeUnsignedInteger(n: bigint): Uint8Array {
  if (n < 0n) throw new CryptoError('BAD_INTEGER', 'negative integer');
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  return encodeTlv(TAG_INTEGER, Uint8Array.from(Buffer.from(hex, 'hex')));
}

/** Encodes a dotted OID. */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map((a) => Number(a));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) {
    throw new CryptoError('BAD_OID', `invalid OID ${oid}`);
  }
  const values = [arcs[0] * 40 + arcs[1], ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const v of values) {
    const chunk = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128))
      chunk.unshift(0x80 | (x & 0x7f));
    bytes.push(...chunk);
  }
  return encodeTlv(TAG_OID, Uint8Array.from(bytes));
}

/** Encodes an OCTET STRING. */
export function encodeOctetString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(TAG_OCTET_STRING, bytes);
}

/** Encodes a BIT STRING with no unused bits. */
export function encodeBitString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(TAG_BIT_STRING, Uint8Array.of(0), bytes);
}

/** Encodes an ECDSA/SM2 signature as SEQUENCE { r INTEGER, s INTEGER }. */
export function encodeSignature(r: bigint, s: bigint): Uint8Array {
  return encodeSequence(encodeUnsignedInteger(r), encodeUnsignedInteger(s));
}

/** Strictly decodes SEQUENCE { r INTEGER, s INTEGER }; throws CryptoError DER_MALFORMED. */
export function decodeSignature(sig: Uint8Array): { r: bigint; s: bigint } {
  const root = readRoot(sig, TAG_SEQUENCE);
  const parts = children(sig, root);
  if (parts.length !== 2) malformed('signature must have two INTEGERs');
  return { r: readUnsignedInteger(sig, parts[0]), s: readUnsignedInteger(sig, parts[1]) };
}
