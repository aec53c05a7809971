/**
 * The public verification path: a shopper is not a member of any organization and holds no
 * key, so a verification service signs the reveal with an identity the operator configures
 * (`archi trace verifier ORG/USER` writes DIR/trace/verifier.json). The console server's
 * `POST /console-api/trace/verify` uses these helpers: the request's shape, the configured
 * identity, and the committed receipt turned into the verdict the page shows.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { remoteError } from '../../sdk/errors.ts';
import type { Call } from '../../sdk/identity.ts';
import type { CommittedAnswer } from '../../sdk/types.ts';
import { ArchiError } from '../../types/errors.ts';
import type { VerifyAnswer } from './client.ts';
import { TRACE_CONTRACT, traceErrorOf } from './rules.ts';

/** A verification the page asks for. */
export interface VerifyRequest {
  serial: string;
  code: string;
  place?: string;
  chain?: string;
}

/** What the page shows: the contract's answer, or the TRACE_* code that refused the code. */
export type VerifyOutcome =
  | ({ ok: true; height: number; txId: string } & VerifyAnswer)
  | { ok: false; error: string; message: string; height: number; txId: string };

const IDENTITY = /^[A-Za-z0-9._-]{1,64}\/[A-Za-z0-9._-]{1,64}$/;

/** Where the verifier identity is configured for network directory `dir`. */
export function verifierPath(dir: string): string {
  return join(dir, 'trace', 'verifier.json');
}

/** Configure the identity (ORG/USER of `dir`) the verification service signs reveals with. */
export function writeVerifier(dir: string, as: string): void {
  if (!IDENTITY.test(as))
    throw new ArchiError(
      'INVALID_ARGS',
      `the verifier must be ORG/USER, got ${JSON.stringify(as)}`,
    );
  const path = verifierPath(dir);
  mkdirSync(join(dir, 'trace'), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify({ as }, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** The configured verifier identity; NOT_READY saying how to configure one when there is none. */
export function readVerifier(dir: string): string {
  let as: unknown;
  try {
    as = JSON.parse(readFileSync(verifierPath(dir), 'utf8')).as;
  } catch {
    as = undefined;
  }
  if (typeof as !== 'string' || !IDENTITY.test(as)) {
    throw new ArchiError(
      'NOT_READY',
      `no verification identity is configured: the operator runs "archi trace verifier ORG/USER --dir ${dir}"`,
    );
  }
  return as;
}

/** The request body as a VerifyRequest; BAD_REQUEST naming the shape otherwise. */
export function verifyRequest(body: unknown): VerifyRequest {
  const b = body as Record<string, unknown> | null;
  const str = (v: unknown) => v === undefined || typeof v === 'string';
  if (
    typeof b !== 'object' ||
    b === null ||
    Array.isArray(b) ||
    typeof b.serial !== 'string' ||
    typeof b.code !== 'string' ||
    !str(b.place) ||
    !str(b.chain) ||
    Object.keys(b).some((k) => !['serial', 'code', 'place', 'chain'].includes(k))
  ) {
    throw new ArchiError(
      'BAD_REQUEST',
      'body must be {"serial": string, "code": string, "place"?: string, "chain"?: string}',
    );
  }
  return b as unknown as VerifyRequest;
}

/** The contract call revealing the request's code. */
export function verifyCall(r: VerifyRequest): Call {
  const args: Record<string, unknown> = { serial: r.serial, code: r.code.trim() };
  if (r.place?.trim()) args.place = r.place.trim();
  return { contract: TRACE_CONTRACT, method: 'verify', args };
}

/** The committed reveal as the page's outcome; a refusal that is not the contract's is thrown. */
export function verifyOutcome(a: CommittedAnswer): VerifyOutcome {
  const r = a.receipt;
  if (r.status === 'ok')
    return { ok: true, height: a.height, txId: a.txId, ...(r.result as VerifyAnswer) };
  const found = r.code === 'CONTRACT_REVERTED' ? traceErrorOf(r.message) : undefined;
  if (!found) throw remoteError(r.code, `verify failed in block ${a.height}: ${r.message}`);
  return { ok: false, error: found.code, message: found.text, height: a.height, txId: a.txId };
}
