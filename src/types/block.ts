/** Blocks, headers, commits and receipts: hashing and JSON views shared by node, RPC and SDK. */
import {
  type Block,
  type Commit,
  decode,
  type Header,
  HeaderSchema,
  type Receipt,
} from '../codec/index.ts';
import type { HashFn } from '../codec/merkle.ts';
import { hex } from './hex.ts';
import { utf8Text } from './json.ts';
import type { CommitJson, HeaderJson, ReceiptJson } from './rpc-json.ts';

export type { CommitJson, EventJson, HeaderJson, ReceiptJson } from './rpc-json.ts';

/** Block hash: the hash of the exact encoded header bytes. */
export function blockHash(hash: HashFn, headerBytes: Uint8Array): Uint8Array {
  return hash(headerBytes);
}

/** JSON view of a header. */
export function headerToJson(h: Header): HeaderJson {
  return {
    chainId: h.chainId,
    height: Number(h.height),
    time: Number(h.time),
    prevHash: hex(h.prevHash),
    txRoot: hex(h.txRoot),
    stateRoot: hex(h.stateRoot),
    resultsRoot: hex(h.resultsRoot),
    validatorsHash: hex(h.validatorsHash),
    proposer: hex(h.proposer),
    lastCommitHash: hex(h.lastCommitHash),
    evidenceHash: hex(h.evidenceHash),
    txCount: h.txCount,
    nextValidatorsHash: hex(h.nextValidatorsHash),
  };
}

/** JSON view of a commit. */
export function commitToJson(c: Commit): CommitJson {
  return {
    height: Number(c.height),
    round: c.round,
    blockHash: hex(c.blockHash),
    signatures: c.signatures.map((s) => ({
      validator: hex(s.validator),
      timestamp: Number(s.timestamp),
      signature: hex(s.signature),
    })),
  };
}

function parseLenient(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return null;
  const text = utf8Text(bytes);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** JSON view of a receipt. */
export function receiptToJson(r: Receipt): ReceiptJson {
  return {
    txId: hex(r.txId),
    status: r.status === 0 ? 'ok' : 'error',
    code: r.code,
    message: r.message,
    gasUsed: Number(r.gasUsed),
    result: parseLenient(r.returnValue),
    events: r.events.map((e) => ({
      contract: e.contract,
      name: e.name,
      data: parseLenient(e.data),
    })),
  };
}

/** Decode the header carried (as bytes) in a block. */
export function blockHeader(b: Block): Header {
  return decode(HeaderSchema, b.header, 'INTERNAL');
}
