/**
 * SM3 (GB/T 32905-2016) in plain TypeScript, for verifying state proofs of gm-profile
 * chains in the browser, where neither WebCrypto nor a synchronous API offers SM3.
 */
import { mdPad } from './sha256.ts';

const IV = [
  0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
];

function rotl(x: number, n: number): number {
  const s = n & 31;
  return s === 0 ? x : (x << s) | (x >>> (32 - s));
}

function p0(x: number): number {
  return x ^ rotl(x, 9) ^ rotl(x, 17);
}

function p1(x: number): number {
  return x ^ rotl(x, 15) ^ rotl(x, 23);
}

/** SM3 of `data`; a fresh 32-byte array. */
export function sm3(data: Uint8Array): Uint8Array {
  const msg = mdPad(data);
  const view = new DataView(msg.buffer);
  const v = IV.slice();
  const w = new Int32Array(68);
  const w1 = new Int32Array(64);
  for (let off = 0; off < msg.length; off += 64) {
    for (let j = 0; j < 16; j++) w[j] = view.getUint32(off + 4 * j);
    for (let j = 16; j < 68; j++) {
      w[j] = p1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6];
    }
    for (let j = 0; j < 64; j++) w1[j] = w[j] ^ w[j + 4];
    let [a, b, c, d, e, f, g, h] = v;
    for (let j = 0; j < 64; j++) {
      const t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
      const a12 = rotl(a, 12);
      const ss1 = rotl((a12 + e + rotl(t, j)) | 0, 7);
      const ss2 = ss1 ^ a12;
      const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
      const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
      const tt1 = (ff + d + ss2 + w1[j]) | 0;
      const tt2 = (gg + h + ss1 + w[j]) | 0;
      d = c;
      c = rotl(b, 9);
      b = a;
      a = tt1;
      h = g;
      g = rotl(f, 19);
      f = e;
      e = p0(tt2);
    }
    v[0] ^= a;
    v[1] ^= b;
    v[2] ^= c;
    v[3] ^= d;
    v[4] ^= e;
    v[5] ^= f;
    v[6] ^= g;
    v[7] ^= h;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(4 * i, v[i] >>> 0);
  return out;
}
