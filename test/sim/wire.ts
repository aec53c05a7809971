/**
 * Reads the few fields the simulated network looks at (is this a precommit, a proposal, a block
 * sync answer; which height and round) straight from the protobuf bytes: the network classifies
 * every message it carries, and a full decode per message would cost more than the rest of it.
 */
import { CHANNELS } from '../../src/p2p/channels.ts';

export type WireKind =
  | 'proposal'
  | 'prevote'
  | 'precommit'
  | 'status'
  | 'request'
  | 'response'
  | 'evidence'
  | 'other';

export interface WireInfo {
  kind: WireKind;
  height: number;
  round: number;
}

function varint(b: Uint8Array, pos: { i: number }): number {
  let x = 0;
  let mul = 1;
  for (;;) {
    const byte = b[pos.i++];
    if (byte === undefined) throw new Error('truncated varint');
    x += (byte & 0x7f) * mul;
    if (byte < 0x80) return x;
    mul *= 128;
  }
}

/** The fields of one message (varints as numbers, length-delimited as [start, end]). */
function fields(b: Uint8Array, start: number, end: number): Map<number, number | [number, number]> {
  const out = new Map<number, number | [number, number]>();
  const pos = { i: start };
  while (pos.i < end) {
    const tag = varint(b, pos);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      const v = varint(b, pos);
      if (!out.has(field)) out.set(field, v);
    } else if (wire === 2) {
      const len = varint(b, pos);
      if (!out.has(field)) out.set(field, [pos.i, pos.i + len]);
      pos.i += len;
    } else if (wire === 1) pos.i += 8;
    else if (wire === 5) pos.i += 4;
    else throw new Error(`wire type ${wire}`);
  }
  return out;
}

function sub(f: Map<number, number | [number, number]>, n: number): [number, number] | undefined {
  const v = f.get(n);
  return Array.isArray(v) ? v : undefined;
}

function num(f: Map<number, number | [number, number]>, n: number): number {
  const v = f.get(n);
  return typeof v === 'number' ? v : 0;
}

const OTHER: WireInfo = { kind: 'other', height: 0, round: 0 };

/** What a message on `channel` is, without decoding all of it. */
export function peek(channel: number, b: Uint8Array): WireInfo {
  try {
    if (channel === CHANNELS.consensus.id) {
      const top = fields(b, 0, b.length);
      const prop = sub(top, 1);
      if (prop) {
        const body = sub(fields(b, prop[0], prop[1]), 1);
        if (!body) return OTHER;
        const f = fields(b, body[0], body[1]);
        return { kind: 'proposal', height: num(f, 2), round: num(f, 3) };
      }
      const vote = sub(top, 2);
      if (vote) {
        const body = sub(fields(b, vote[0], vote[1]), 1);
        if (!body) return OTHER;
        const f = fields(b, body[0], body[1]);
        const kind = num(f, 2) === 2 ? 'precommit' : 'prevote';
        return { kind, height: num(f, 3), round: num(f, 4) };
      }
      return OTHER;
    }
    if (channel === CHANNELS.blocksync.id) {
      const top = fields(b, 0, b.length);
      for (const [n, kind] of [
        [1, 'status'],
        [2, 'request'],
        [3, 'response'],
      ] as const) {
        const m = sub(top, n);
        if (m) return { kind, height: num(fields(b, m[0], m[1]), 1), round: 0 };
      }
      return OTHER;
    }
    if (channel === CHANNELS.evidence.id) return { kind: 'evidence', height: 0, round: 0 };
  } catch {
    // a malformed message (the byzantine validator's, or a test's) is just "other"
  }
  return OTHER;
}
