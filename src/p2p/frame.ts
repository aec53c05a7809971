/**
 * Wire framing of the node transport. Every frame is
 *
 *   uint32 big-endian length N | N bytes: an encoded archipelago.v1.PeerFrame
 *
 * (proto/archipelago/v1/p2p.proto). A PeerFrame carries a hello, an application message
 * {channel, payload}, a ping, a pong or a bye. Frames whose length exceeds the receiver's
 * limit, that do not decode, or that carry no body close the connection.
 */
import { fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { create, type PeerFrame, PeerFrameSchema } from '../codec/index.ts';
import { CHANNELS } from './channels.ts';

/** Consensus messages (proposals, votes). */
export const CONSENSUS = CHANNELS.consensus.id;
/** Transaction gossip. */
export const TXS = CHANNELS.txs.id;
/** Block sync requests and responses. */
export const BLOCKSYNC = CHANNELS.blocksync.id;
/** Misbehaviour evidence gossip. */
export const EVIDENCE = CHANNELS.evidence.id;

/** An application channel. */
export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS]['id'];

/** Channels from highest to lowest send priority. */
export const CHANNEL_PRIORITY: readonly Channel[] = Object.values(CHANNELS)
  .sort((a, b) => a.priority - b.priority)
  .map((c) => c.id);

/** Version sent in the hello; a peer with another version is refused. */
export const PROTOCOL_VERSION = 1;

/** Bytes of the length prefix. */
export const LENGTH_PREFIX_BYTES = 4;

/** True when `c` is one of the application channels. */
export function isChannel(c: unknown): c is Channel {
  return CHANNEL_PRIORITY.includes(c as Channel);
}

/** A framing or decoding failure caused by the peer; the connection must be closed. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** The body of a frame to send: { case: 'message', value: { channel, payload } } and so on. */
export type FrameBody = MessageInitShape<typeof PeerFrameSchema>['body'];

/** Encodes one frame, length prefix included, as a single buffer ready to write. */
export function encodeFrame(body: FrameBody): Buffer {
  const bytes = toBinary(PeerFrameSchema, create(PeerFrameSchema, { body }));
  const out = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  out.set(bytes, LENGTH_PREFIX_BYTES);
  return out;
}

/** Encoded size of an application message frame, prefix included (for limit checks). */
export function messageFrameSize(payloadBytes: number, chainIdBytes = 0): number {
  // Field tags and varint lengths of PeerFrame.message{channel, payload, chain_id}: at most
  // 16 bytes, and 3 more for a chain id (chain ids are short).
  return LENGTH_PREFIX_BYTES + payloadBytes + 16 + (chainIdBytes > 0 ? chainIdBytes + 3 : 0);
}

/** Decodes a frame body (without prefix); throws FrameError on anything malformed. */
export function decodeFrame(bytes: Uint8Array): PeerFrame {
  let frame: PeerFrame;
  try {
    frame = fromBinary(PeerFrameSchema, bytes, { readUnknownFields: false });
  } catch (e) {
    throw new FrameError(`malformed frame: ${(e as Error).message}`);
  }
  if (frame.body.case === undefined) throw new FrameError('frame without a body');
  return frame;
}

/**
 * Splits a byte stream into frame bodies. Keeps received chunks in a list and joins only
 * what one frame needs, so a large frame arriving in many small chunks costs O(n).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes held while waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds received bytes; returns every frame body now complete. Throws FrameError. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < LENGTH_PREFIX_BYTES) break;
        const len = this.take(LENGTH_PREFIX_BYTES).readUInt32BE(0);
        if (len > this.maxFrameBytes) {
          throw new FrameError(`frame of ${len} bytes exceeds the limit of ${this.maxFrameBytes}`);
        }
        this.need = len;
      }
      if (this.buffered < this.need) break;
      out.push(this.take(this.need));
      this.need = -1;
    }
    return out;
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
