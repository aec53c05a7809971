/**
 * Just enough DER to show an X.509 certificate: subject, issuer, validity, serial, key and
 * signature algorithms, CA flag. Display only; the node does the real verification.
 */
import { fromHex } from './chain.ts';

interface Tlv {
  tag: number;
  start: number;
  end: number;
  /** Offset of the whole element (tag byte), for slicing it out. */
  from: number;
}

function readTlv(b: Uint8Array, pos: number): Tlv {
  if (pos + 2 > b.length) throw new Error('truncated DER');
  const tag = b[pos];
  let len = b[pos + 1];
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p++];
  }
  if (p + len > b.length) throw new Error('DER element runs past the end');
  return { tag, start: p, end: p + len, from: pos };
}

function children(b: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = t.start;
  while (p < t.end) {
    const c = readTlv(b, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

function oid(b: Uint8Array, t: Tlv): string {
  const bytes = b.subarray(t.start, t.end);
  const parts = [Math.floor(bytes[0] / 40), bytes[0] % 40];
  let v = 0;
  for (let i = 1; i < bytes.length; i++) {
    v = v * 128 + (bytes[i] & 0x7f);
    if (!(bytes[i] & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

const NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
};

const ALGS: Record<string, string> = {
  '1.2.840.10045.2.1': 'EC',
  '1.2.840.10045.3.1.7': 'P-256',
  '1.2.156.10197.1.301': 'SM2',
  '1.2.840.10045.4.3.2': 'ECDSA with SHA-256',
  '1.2.156.10197.1.501': 'SM2 with SM3',
  '1.3.101.112': 'Ed25519',
};

function text(b: Uint8Array, t: Tlv): string {
  return new TextDecoder().decode(b.subarray(t.start, t.end));
}

function name(b: Uint8Array, t: Tlv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of children(b, t)) {
    for (const attr of children(b, set)) {
      const [o, v] = children(b, attr);
      const key = NAMES[oid(b, o)] ?? oid(b, o);
      if (!(key in out)) out[key] = text(b, v);
    }
  }
  return out;
}

function time(b: Uint8Array, t: Tlv): Date {
  const s = text(b, t);
  // UTCTime YYMMDDHHMMSSZ (years 1950-2049), GeneralizedTime YYYYMMDDHHMMSSZ.
  const full = t.tag === 0x17 ? `${Number(s.slice(0, 2)) >= 50 ? '19' : '20'}${s}` : s;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(full);
  if (!m) throw new Error(`unsupported time ${s}`);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

export interface CertInfo {
  subject: Record<string, string>;
  issuer: Record<string, string>;
  notBefore: Date;
  notAfter: Date;
  serial: string;
  keyAlgorithm: string;
  signatureAlgorithm: string;
  isCA: boolean;
}

/** Parse a DER certificate given as hex; throws Error on anything it cannot read. */
export function parseCert(derHex: string): CertInfo {
  const b = fromHex(derHex);
  const cert = readTlv(b, 0);
  const [tbs, sigAlg] = children(b, cert);
  let fields = children(b, tbs);
  if (fields[0].tag === 0xa0) fields = fields.slice(1);
  const [serial, , issuer, validity, subject, spki, ...rest] = fields;
  const [nb, na] = children(b, validity);
  const [alg] = children(b, spki);
  const algParts = children(b, alg).filter((c) => c.tag === 0x06);
  const keyAlgorithm = algParts
    .map((p) => ALGS[oid(b, p)] ?? oid(b, p))
    .filter((a) => a !== 'EC')
    .join(' ');
  let isCA = false;
  const ext = rest.find((r) => r.tag === 0xa3);
  if (ext) {
    for (const e of children(b, children(b, ext)[0])) {
      const parts = children(b, e);
      if (oid(b, parts[0]) !== '2.5.29.19') continue;
      const octets = parts[parts.length - 1];
      const bc = readTlv(b, octets.start);
      const inner = children(b, bc);
      isCA = inner.length > 0 && inner[0].tag === 0x01 && b[inner[0].start] !== 0;
    }
  }
  const sigOid = oid(b, children(b, sigAlg)[0]);
  return {
    subject: name(b, subject),
    issuer: name(b, issuer),
    notBefore: time(b, nb),
    notAfter: time(b, na),
    serial: Array.from(b.subarray(serial.start, serial.end), (x) =>
      x.toString(16).padStart(2, '0'),
    ).join(''),
    keyAlgorithm: keyAlgorithm || 'unknown',
    signatureAlgorithm: ALGS[sigOid] ?? sigOid,
    isCA,
  };
}
