/**
 * A maker's serials in bulk: a CSV file `serial,code` (the codes printed on the items) is
 * checked locally first (a file with a bad row sends nothing), the commitments are computed
 * here (the codes never leave this machine), and the rows go MAX_REGISTER per `register` tx,
 * all txs signed and submitted at once (`submitBatch`), then waited for with progress. A tx
 * is all or nothing, so an outcome is per chunk: registered, or the TRACE_* code refusing it.
 * `generateCodes` makes such a file with random codes for a run of serials.
 */
import { randomBytes } from 'node:crypto';
import type { ArchiClient } from '../../sdk/client.ts';
import { codedError } from '../../sdk/errors.ts';
import { buildAndSign, type Identity } from '../../sdk/identity.ts';
import { ArchiError } from '../../types/errors.ts';
import { appReceiptError } from '../contract-client.ts';
import { commitmentOf } from './commitment.ts';
import { CODE, ID, MAX_REGISTER, TRACE_CONTRACT, traceErrorOf } from './rules.ts';

/** One serial with its secret code, and the CSV line it came from. */
export interface SerialRow {
  line: number;
  serial: string;
  code: string;
}

/** A chunk the contract refused (all its rows are unregistered). */
export interface ChunkFailure {
  /** First and last CSV lines of the chunk. */
  lines: [number, number];
  error: string;
  message: string;
}

export interface RegisterResult {
  batch: string;
  total: number;
  registered: number;
  txs: number;
  failed: ChunkFailure[];
}

/** Rows of CSV text `serial,code` (a first line `serial,code` is a header; blank lines skipped). */
export function parseSerialsCsv(text: string): SerialRow[] {
  const rows: SerialRow[] = [];
  const bad: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '' || (i === 0 && /^\s*serial\s*,/i.test(raw))) return;
    const f = raw.split(',').map((s) => s.trim());
    if (f.length !== 2) bad.push(`line ${line}: expected serial,code`);
    else if (!ID.test(f[0]))
      bad.push(`line ${line}: serial ${JSON.stringify(f[0])} must be 1..64 of A-Z a-z 0-9 . _ -`);
    else if (!CODE.test(f[1])) bad.push(`line ${line}: the code must be 8..64 of A-Z a-z 0-9 -`);
    else if (seen.has(f[0])) bad.push(`line ${line}: serial ${f[0]} appears twice`);
    else {
      seen.add(f[0]);
      rows.push({ line, serial: f[0], code: f[1] });
    }
  });
  if (bad.length > 0) {
    const more = bad.length > 5 ? ` (and ${bad.length - 5} more)` : '';
    throw codedError('TRACE_BAD_FORMAT', `${bad.slice(0, 5).join('; ')}${more}; nothing was sent`);
  }
  if (rows.length === 0) throw new ArchiError('INVALID_ARGS', 'the file holds no serials');
  return rows;
}

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A random code: 16 characters of a 32-letter alphabet (80 bits), grouped by 4 with dashes. */
export function randomCode(): string {
  const b = randomBytes(16);
  let s = '';
  for (let i = 0; i < 16; i++) s += ALPHABET[b[i] & 31];
  return s.match(/.{4}/g)?.join('-') ?? s;
}

/** CSV text `serial,code` for serials `<prefix><from..from+count-1>` (6 digits) with random codes. */
export function generateCodes(prefix: string, count: number, from = 1): string {
  const lines = ['serial,code'];
  for (let i = 0; i < count; i++) {
    const serial = `${prefix}${String(from + i).padStart(6, '0')}`;
    if (!ID.test(serial))
      throw codedError('TRACE_BAD_FORMAT', `serial ${serial} is not 1..64 of A-Z a-z 0-9 . _ -`);
    lines.push(`${serial},${randomCode()}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Register `rows` in batch `batch` as `identity`; resolves when every chunk has an outcome. */
export async function registerSerials(
  client: ArchiClient,
  identity: Identity,
  batch: string,
  rows: SerialRow[],
  opts: {
    timeoutMs?: number;
    onProgress?: (p: { done: number; total: number; failed: number }) => void;
  } = {},
): Promise<RegisterResult> {
  const { chainId } = await client.status();
  const chunks: SerialRow[][] = [];
  for (let i = 0; i < rows.length; i += MAX_REGISTER) chunks.push(rows.slice(i, i + MAX_REGISTER));
  const txs = chunks.map((part) =>
    buildAndSign(identity, chainId, {
      contract: TRACE_CONTRACT,
      method: 'register',
      args: {
        batch,
        items: part.map((r) => ({ serial: r.serial, commitment: commitmentOf(r.serial, r.code) })),
      },
    }),
  );
  const failed: ChunkFailure[] = [];
  let done = 0;
  let registered = 0;
  const settle = (part: SerialRow[], e?: ArchiError) => {
    done += part.length;
    if (e)
      failed.push({
        lines: [part[0].line, part[part.length - 1].line],
        error: e.code,
        message: e.message,
      });
    else registered += part.length;
    opts.onProgress?.({ done, total: rows.length, failed: failed.length });
  };
  const submitted = await client.submitBatch(txs.map((t) => t.bytes));
  await Promise.all(
    submitted.map(async (res, k) => {
      if (res.error) return settle(chunks[k], res.error);
      try {
        const tx = await client.waitForTx(txs[k].txIdHex, opts.timeoutMs ?? 120_000);
        const r = tx.receipt;
        settle(
          chunks[k],
          r.status === 'ok' ? undefined : appReceiptError(r, 'register', traceErrorOf),
        );
      } catch (e) {
        if (!(e instanceof ArchiError)) throw e;
        settle(chunks[k], e);
      }
    }),
  );
  failed.sort((a, b) => a.lines[0] - b.lines[0]);
  return { batch, total: rows.length, registered, txs: txs.length, failed };
}
