// Shared helpers for crypto tests that shell out to the OpenSSL CLI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Outcome of one openssl invocation; non-zero exit is reported, not thrown. */
export interface OpensslResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `openssl ...args` synchronously and captures both streams. */
export function openssl(args: string[], input?: Uint8Array): OpensslResult {
  try {
    const stdout = execFileSync('openssl', args, {
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    return { ok: true, stdout, stderr: '' };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Like openssl() but fails the test with OpenSSL's own message when the command fails. */
export function opensslOk(args: string[]): string {
  const r = openssl(args);
  if (!r.ok) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A scratch directory with small read/write helpers; call cleanup() from after(). */
export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'archi-crypto-'));

  /** Absolute path of a file inside the directory. */
  file(name: string): string {
    return join(this.path, name);
  }

  /** Writes a file and returns its path. */
  write(name: string, data: string | Uint8Array): string {
    const p = this.file(name);
    writeFileSync(p, data);
    return p;
  }

  /** Reads a file as bytes. */
  read(name: string): Uint8Array {
    return new Uint8Array(readFileSync(this.file(name)));
  }

  /** Removes the directory tree. */
  cleanup(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Loads a frozen JSON vector from test/vectors/crypto/. */
export function loadVector<T>(name: string): T {
  const p = fileURLToPath(new URL(`../vectors/crypto/${name}`, import.meta.url));
  return JSON.parse(readFileSync(p, 'utf8')) as T;
}
