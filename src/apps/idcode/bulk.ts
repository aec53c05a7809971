/**
 * Issuing many codes at once (a city's thousands of facility codes): rows from a CSV file,
 * checked locally first (a file with a bad row sends nothing), then one `register` tx per
 * row, signed in batches and submitted with `submitBatch`, parents' level before their
 * children's (a level is committed before the next is sent), with a progress callback. Each
 * row's outcome is its receipt: issued, or the stable IDCODE_* code the contract refused it with.
 */
import type { ArchiClient } from '../../sdk/client.ts';
import { codedError } from '../../sdk/errors.ts';
import { buildAndSign, type Identity } from '../../sdk/identity.ts';
import type { ReceiptJson, TxPush } from '../../sdk/types.ts';
import { ArchiError } from '../../types/errors.ts';
import { IDCODE_CONTRACT } from './app.ts';
import { receiptError } from './client.ts';
import { FORMAT_HINT, KIND, MAX_METADATA, MAX_NAME, parseCode } from './rules.ts';

/** One code to issue, with the CSV line it came from. */
export interface BulkRow {
  line: number;
  code: string;
  name: string;
  kind: string;
  metadata?: Record<string, unknown>;
}

/** What happened to a row that was not issued. */
export interface BulkFailure {
  line: number;
  code: string;
  error: string;
  message: string;
}

export interface BulkResult {
  total: number;
  issued: number;
  failed: BulkFailure[];
}

export interface BulkProgress {
  done: number;
  total: number;
  failed: number;
}

export interface BulkOptions {
  /** Txs per submitBatch request (default 500, at most 1000). */
  batchSize?: number;
  /** How long to wait for a level's commits after its last submit, in ms (default 120 s). */
  timeoutMs?: number;
  onProgress?: (p: BulkProgress) => void;
}

/** The fields of one CSV record (RFC 4180: commas, "quoted" fields with "" inside). */
function splitCsvLine(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return null; // unterminated quote
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ',') return null;
    } else {
      const end = line.indexOf(',', i);
      field = end < 0 ? line.slice(i) : line.slice(i, end);
      i = end < 0 ? line.length : end;
    }
    out.push(field);
    if (i >= line.length) return out;
    i++; // the comma
  }
}

/**
 * Rows of CSV text `code,name,kind[,metadata JSON]` (a first line starting with `code` is a
 * header; blank lines are skipped). Every row is checked as the contract would check its
 * format and fields; INVALID_ARGS or IDCODE_BAD_FORMAT names the first bad lines.
 */
export function parseCodesCsv(text: string): BulkRow[] {
  const rows: BulkRow[] = [];
  const bad: string[] = [];
  let badFormat = false;
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '' || (i === 0 && /^\s*code\s*,/i.test(raw))) return;
    const f = splitCsvLine(raw);
    if (!f || f.length < 3 || f.length > 4) {
      bad.push(`line ${line}: expected code,name,kind[,metadata]`);
      return;
    }
    const [code, name, kind, meta] = f.map((s, k) => (k === 3 ? s : s.trim()));
    if (!parseCode(code)) {
      badFormat = true;
      bad.push(`line ${line}: ${JSON.stringify(code)} is not a code (${FORMAT_HINT})`);
      return;
    }
    if (name.length === 0 || name.length > MAX_NAME || /\p{Cc}/u.test(name)) {
      bad.push(`line ${line}: name must be 1..${MAX_NAME} printable characters`);
    } else if (!KIND.test(kind)) {
      bad.push(`line ${line}: kind ${JSON.stringify(kind)} must match ${KIND}`);
    } else if (seen.has(code)) {
      bad.push(`line ${line}: ${code} appears twice`);
    } else {
      const row: BulkRow = { line, code, name, kind };
      if (meta !== undefined && meta.trim() !== '') {
        let m: unknown;
        try {
          m = JSON.parse(meta);
        } catch {
          m = undefined;
        }
        if (typeof m !== 'object' || m === null || Array.isArray(m) || meta.length > MAX_METADATA) {
          bad.push(
            `line ${line}: metadata must be a JSON object of at most ${MAX_METADATA} characters`,
          );
          return;
        }
        row.metadata = m as Record<string, unknown>;
      }
      seen.add(code);
      rows.push(row);
    }
  });
  if (bad.length > 0) {
    const more = bad.length > 5 ? ` (and ${bad.length - 5} more)` : '';
    const code = badFormat ? 'IDCODE_BAD_FORMAT' : 'IDCODE_INVALID_ARGS';
    throw codedError(code, `${bad.slice(0, 5).join('; ')}${more}; nothing was sent`);
  }
  if (rows.length === 0) throw new ArchiError('INVALID_ARGS', 'the file holds no codes');
  return rows;
}

/** Issue every row as `identity`, level by level; resolves when each row has an outcome. */
export async function bulkRegister(
  client: ArchiClient,
  identity: Identity,
  rows: BulkRow[],
  opts: BulkOptions = {},
): Promise<BulkResult> {
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 500, 1000));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const { chainId } = await client.status();
  const failed: BulkFailure[] = [];
  let done = 0;
  const progress = () => opts.onProgress?.({ done, total: rows.length, failed: failed.length });
  // Rows whose parents are in the file go after them: a level is committed before the next.
  const levels = new Map<number, BulkRow[]>();
  for (const r of rows) {
    const depth = parseCode(r.code)?.depth ?? 0;
    levels.set(depth, [...(levels.get(depth) ?? []), r]);
  }
  for (const depth of [...levels.keys()].sort((a, b) => a - b)) {
    const level = levels.get(depth) ?? [];
    const pending = new Map<string, BulkRow>();
    const settle = (row: BulkRow, receipt: ReceiptJson | ArchiError) => {
      done++;
      if (receipt instanceof ArchiError) {
        failed.push({
          line: row.line,
          code: row.code,
          error: receipt.code,
          message: receipt.message,
        });
      } else if (receipt.status !== 'ok') {
        const e = receiptError(receipt, 'refused');
        failed.push({ line: row.line, code: row.code, error: e.code, message: e.message });
      }
      progress();
    };
    const committed = await watchCommits(client, (push) => {
      const row = pending.get(push.txId);
      if (!row) return;
      pending.delete(push.txId);
      settle(row, push.receipt);
    });
    try {
      for (let i = 0; i < level.length; i += batchSize) {
        const part = level.slice(i, i + batchSize);
        // Signed now, not up front: a tx's timestamp must be within the chain's time window.
        const txs = part.map((r) => {
          const args: Record<string, unknown> = { code: r.code, name: r.name, kind: r.kind };
          if (r.metadata) args.metadata = r.metadata;
          return buildAndSign(identity, chainId, {
            contract: IDCODE_CONTRACT,
            method: 'register',
            args,
          });
        });
        txs.forEach((t, k) => {
          pending.set(t.txIdHex, part[k]);
        });
        const results = await client.submitBatch(txs.map((t) => t.bytes));
        results.forEach((res, k) => {
          if (res.error && pending.delete(txs[k].txIdHex)) settle(part[k], res.error);
        });
      }
      await waitSettled(client, pending, settle, committed, timeoutMs);
    } finally {
      committed.close();
    }
  }
  return { total: rows.length, issued: rows.length - failed.length, failed };
}

/** A `txs` subscription while it lasts; `alive` turns false when its socket closes. */
interface Watch {
  alive: boolean;
  close(): void;
}

async function watchCommits(client: ArchiClient, onTx: (p: TxPush) => void): Promise<Watch> {
  const w: Watch = { alive: false, close: () => {} };
  try {
    const stop = await client.subscribe('txs', {}, onTx, {
      onClose: () => {
        w.alive = false;
      },
      onError: () => undefined,
    });
    w.alive = true;
    w.close = stop;
  } catch {
    // no WebSocket: waitSettled asks for each tx instead
  }
  return w;
}

/**
 * Until every pending tx has an outcome: pushed by the subscription, or, when it is gone or
 * quiet for a while, asked for tx by tx. Txs still unknown at the deadline fail with TIMEOUT.
 */
async function waitSettled(
  client: ArchiClient,
  pending: Map<string, BulkRow>,
  settle: (row: BulkRow, r: ReceiptJson | ArchiError) => void,
  watch: Watch,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = pending.size;
  let quietSince = Date.now();
  while (pending.size > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    if (pending.size !== last) {
      last = pending.size;
      quietSince = Date.now();
      continue;
    }
    if (watch.alive && Date.now() - quietSince < 5_000) continue;
    // Pushes may have been missed (before the subscription, or it closed): ask.
    for (const [id, row] of [...pending]) {
      try {
        const tx = await client.getTx(id);
        // The subscription may have settled it while we asked.
        if (pending.delete(id)) settle(row, tx.receipt);
      } catch (e) {
        if (!(e instanceof ArchiError) || e.code !== 'NOT_FOUND') throw e;
      }
    }
    last = pending.size;
    quietSince = Date.now();
  }
  for (const [id, row] of pending) {
    settle(row, codedError('TIMEOUT', `tx ${id} was not committed within ${timeoutMs} ms`));
  }
  pending.clear();
}
