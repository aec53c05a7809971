/**
 * The validator's signer with a double-sign guard: before a signature leaves this module
 * the height/round/step it is for, and what was signed, are durably written to disk. After
 * a crash it refuses to sign anything for an earlier height/round/step, and for the same
 * one signs only the very same content again (returning the stored signature).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Signer } from '../crypto/profile.ts';
import { ArchiError } from '../types/errors.ts';
import { hex, unhex } from '../types/hex.ts';

/** Step numbers order the sign requests within a round. */
export const SIGN_STEP = { propose: 1, prevote: 2, precommit: 3 } as const;
export type SignStep = keyof typeof SIGN_STEP;

/** The guard's durable record of the last signature it gave out. */
export interface LastSigned {
  height: number;
  round: number;
  step: number;
  /** What was signed with the timestamp left out, so a re-request after a crash matches. */
  content: string;
  signBytes: string;
  signature: string;
  timestamp: number;
}

export interface SignRequest {
  height: number;
  round: number;
  step: SignStep;
  /** Identifies the signed content apart from its timestamp (e.g. the block hash or 'nil'). */
  content: string;
  /** Builds the exact bytes to sign for a given timestamp. */
  bytes(timestamp: number): Uint8Array;
  timestamp: number;
}

export interface Signed {
  bytes: Uint8Array;
  signature: Uint8Array;
  timestamp: number;
}

function compare(a: { height: number; round: number; step: number }, b: typeof a): number {
  return a.height - b.height || a.round - b.round || a.step - b.step;
}

/** Write `data` to `path` atomically and durably (temp file, fsync, rename, fsync dir). */
function writeDurably(path: string, data: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** Where the guard keeps its last signature; save() returns only once it is durable. */
export interface SignerStateStore {
  load(): LastSigned | undefined;
  save(state: LastSigned): void;
}

/** The guard's state in a JSON file, replaced atomically and fsynced on every save. */
export function fileSignerState(path: string): SignerStateStore {
  return {
    load() {
      if (!existsSync(path)) return undefined;
      try {
        return JSON.parse(readFileSync(path, 'utf8')) as LastSigned;
      } catch (e) {
        throw new ArchiError(
          'CONFIG_INVALID',
          `${path}: unreadable signer state: ${(e as Error).message}`,
        );
      }
    },
    save: (state) => writeDurably(path, JSON.stringify(state)),
  };
}

/** State held in memory: for the simulator, whose "disk" is an object that outlives a crash. */
export class MemorySignerState implements SignerStateStore {
  last: LastSigned | undefined;

  load(): LastSigned | undefined {
    return this.last;
  }

  save(state: LastSigned): void {
    this.last = state;
  }
}

export class GuardedSigner {
  private last: LastSigned | undefined;

  constructor(
    private readonly state: SignerStateStore,
    private readonly signer: Signer,
  ) {
    this.last = state.load();
  }

  /** Open the guard whose state lives in `dir`/signer-state.json. */
  static open(dir: string, signer: Signer): GuardedSigner {
    return new GuardedSigner(fileSignerState(join(dir, 'signer-state.json')), signer);
  }

  get publicKey(): Uint8Array {
    return this.signer.publicKey;
  }

  /** Last height/round/step signed, for status and tests. */
  get lastSigned(): { height: number; round: number; step: number } | undefined {
    return this.last && { height: this.last.height, round: this.last.round, step: this.last.step };
  }

  /** Sign unless that would be a double sign; throws ArchiError('DOUBLE_SIGN') when it would be. */
  sign(req: SignRequest): Signed {
    const hrs = { height: req.height, round: req.round, step: SIGN_STEP[req.step] };
    const last = this.last;
    if (last) {
      const order = compare(hrs, last);
      if (order < 0) {
        throw new ArchiError(
          'DOUBLE_SIGN',
          `refusing to sign ${req.step} at ${req.height}/${req.round}: already signed ${last.height}/${last.round}/${last.step}`,
        );
      }
      if (order === 0) {
        if (last.content !== req.content) {
          throw new ArchiError(
            'DOUBLE_SIGN',
            `refusing to sign different ${req.step} at ${req.height}/${req.round}`,
          );
        }
        const bytes = unhex(last.signBytes);
        return { bytes, signature: unhex(last.signature), timestamp: last.timestamp };
      }
    }
    const bytes = req.bytes(req.timestamp);
    const signature = this.signer.sign(bytes);
    const next: LastSigned = {
      ...hrs,
      content: req.content,
      signBytes: hex(bytes),
      signature: hex(signature),
      timestamp: req.timestamp,
    };
    this.state.save(next);
    this.last = next;
    return { bytes, signature, timestamp: req.timestamp };
  }
}
