/**
 * The web console's own small server, started by `archi up`: serves the built app
 * (console/dist) and a local "operator" API under /console-api that signs transactions with
 * identities from the network directory, so private keys never reach the browser (on the
 * chain the page names, with the identities of that chain's crypto profile). The
 * console reads the chain itself straight from the nodes' public RPC (CORS is allowed on
 * /v1 for that); this server only adds what a browser must not or cannot do.
 *
 * It binds to 127.0.0.1 only, and because any web page the operator visits could still
 * send requests to 127.0.0.1, the operator API also insists on its own Host (no DNS
 * rebinding), a same-origin Origin when the browser sends one, and a JSON body (which a
 * cross-site page cannot send without a CORS preflight that this server never grants).
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve, sep } from 'node:path';
import { createApiServer, sendError } from '../rpc/http-errors.ts';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { address, getProfile } from '../crypto/profile.ts';
import { certFromPem, parseCertificate } from '../crypto/x509.ts';
import { ArchiError } from '../types/errors.ts';
import { hex } from '../types/hex.ts';
import { buildContract } from '../vm/sandbox/build.ts';
import { CONTRACT_NAME } from '../vm/sandbox/limits.ts';
import { orgProfileBase } from './chain-layout.ts';
import { ClientContext } from './client-context.ts';
import type { Call } from '../sdk/identity.ts';

/** Root of the console app sources (console/ in the package). */
export const CONSOLE_ROOT = fileURLToPath(new URL('../../console/', import.meta.url));
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(CONSOLE_ROOT, 'dist');
const LOCK = join(CONSOLE_ROOT, '.build.lock');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

function newestMtime(path: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Why the console needs (re)building, or undefined when console/dist is up to date. */
export function consoleBuildReason(): string | undefined {
  const index = join(DIST, 'index.html');
  if (!existsSync(index)) return 'console/dist is missing';
  const built = statSync(index).mtimeMs;
  const inputs = ['src', 'index.html', 'vite.config.ts', 'tsconfig.json'].map((p) =>
    newestMtime(join(CONSOLE_ROOT, p)),
  );
  return Math.max(...inputs) > built ? 'console/src changed since the last build' : undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runVite(outDir: string): Promise<void> {
  const vite = join(PACKAGE_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) {
    return Promise.reject(
      new Error('vite is not installed (run npm install with dev dependencies)'),
    );
  }
  return new Promise((res, rej) => {
    const child = spawn(
      process.execPath,
      [vite, 'build', CONSOLE_ROOT, '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
      { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    child.on('error', rej);
    child.on('exit', (code) =>
      code === 0
        ? res()
        : rej(new Error(`vite build failed (${code}): ${out.trim().slice(-2000)}`)),
    );
  });
}

/**
 * Build console/dist when it is missing or older than its sources. Several `archi up`
 * processes may start at once (the e2e tests do), so one builds under a lock file while the
 * others wait, and the result replaces dist in one rename so no server sees half a build.
 */
export async function ensureConsoleBuilt(log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (!consoleBuildReason()) return;
    let fd = false;
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      fd = true;
    } catch {
      const holder = Number(readFileSafe(LOCK));
      if (!Number.isSafeInteger(holder) || holder <= 0 || !pidAlive(holder)) {
        rmSync(LOCK, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`console build by pid ${holder} takes too long`);
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    if (fd) {
      try {
        // Checked again under the lock: another process may have just finished the build.
        const reason = consoleBuildReason();
        if (!reason) return;
        log(`building console... (${reason})`);
        const tmp = join(CONSOLE_ROOT, `.dist-${process.pid}`);
        const old = join(CONSOLE_ROOT, `.dist-old-${process.pid}`);
        mkdirSync(tmp, { recursive: true });
        try {
          await runVite(tmp);
          if (existsSync(DIST)) renameSync(DIST, old);
          renameSync(tmp, DIST);
        } finally {
          rmSync(tmp, { recursive: true, force: true });
          rmSync(old, { recursive: true, force: true });
        }
        return;
      } finally {
        rmSync(LOCK, { force: true });
      }
    }
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** One identity found under DIR/orgs/ORG/users/USER, with public material only. */
export interface ConsoleIdentity {
  id: string;
  org: string;
  user: string;
  /** Certificate DER as hex (cert mode). */
  cert: string | null;
  /** Registered public key hex (key mode). */
  publicKey: string | null;
  /** Account address contracts see as the sender (from the cert's or the registered key). */
  address: string | null;
}

function listDirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * Identities of the network directory in crypto profile `crypto` (those of a profile other
 * than the network's live under orgs/ORG/profiles/CRYPTO); never reads or returns private keys.
 */
export function listIdentities(
  dir: string,
  crypto: 'standard' | 'gm',
  networkCrypto: 'standard' | 'gm' = crypto,
): ConsoleIdentity[] {
  const profile = getProfile(crypto);
  const out: ConsoleIdentity[] = [];
  for (const org of listDirs(join(dir, 'orgs'))) {
    const users = join(dir, orgProfileBase(org, crypto, networkCrypto), 'users');
    for (const user of listDirs(users)) {
      const userDir = join(users, user);
      let cert: string | null = null;
      let publicKey: string | null = null;
      let addr: string | null = null;
      const certPem = readFileSafe(join(userDir, 'cert.pem'));
      if (certPem) {
        try {
          const der = certFromPem(certPem);
          cert = hex(der);
          addr = address(profile, parseCertificate(der).publicKey);
        } catch {
          // an unreadable cert is listed without its details rather than hiding the identity
        }
      }
      const pub = readFileSafe(join(userDir, 'public.hex')).trim();
      if (/^[0-9a-fA-F]+$/.test(pub)) {
        publicKey = pub.toLowerCase();
        try {
          addr = address(profile, Buffer.from(publicKey, 'hex'));
        } catch {
          // as above
        }
      }
      out.push({ id: `${org}/${user}`, org, user, cert, publicKey, address: addr });
    }
  }
  return out;
}

export interface ConsoleServerOptions {
  /** Network directory (network.json, orgs/). */
  dir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Directory of the built app; defaults to console/dist. */
  distDir?: string;
}

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

/** Start the console server on 127.0.0.1; resolves once it listens. */
export async function startConsoleServer(o: ConsoleServerOptions): Promise<ConsoleServer> {
  const dir = resolve(o.dir);
  const dist = resolve(o.distDir ?? DIST);
  // A GET that no route serves gets the app (client-side routes included), except under
  // /console-api/: there, and for other methods, it is NOT_FOUND.
  const app = createApiServer({
    fastify: { bodyLimit: 4 * 1024 * 1024 },
    notFound: (req, reply) => {
      if (req.method !== 'GET' || req.url.startsWith('/console-api/')) {
        return sendError(
          reply,
          new ArchiError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`),
        );
      }
      return serveStatic(dist, req.url, reply);
    },
  });
  let allowedHosts = new Set<string>();
  let allowedOrigins = new Set<string>();

  const guard = (req: FastifyRequest): void => {
    if (!allowedHosts.has(String(req.headers.host ?? ''))) {
      throw new ArchiError('BAD_REQUEST', 'the operator API answers only on its own address');
    }
    const from = req.headers.origin;
    if (from !== undefined && !allowedOrigins.has(from)) {
      throw new ArchiError('BAD_REQUEST', `the operator API does not answer pages of ${from}`);
    }
  };

  app.get('/console-api/network', async (req) => {
    guard(req);
    const path = join(dir, 'network.json');
    try {
      return JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new ArchiError('INTERNAL', `cannot read ${path}: ${(e as Error).message}`);
    }
  });

  // ?chain=ID: the identities that can sign on that chain (its crypto profile's).
  app.get('/console-api/identities', async (req) => {
    guard(req);
    const network = JSON.parse(readFileSafe(join(dir, 'network.json')) || '{}');
    const networkCrypto = network.crypto === 'gm' ? 'gm' : 'standard';
    const chain = (req.query as { chain?: unknown }).chain;
    const record = Array.isArray(network.chains)
      ? network.chains.find((c: any) => c?.id === chain)
      : undefined;
    const crypto =
      record?.crypto === 'gm' || record?.crypto === 'standard' ? record.crypto : networkCrypto;
    return listIdentities(dir, crypto, networkCrypto);
  });

  const jsonOnly = (req: FastifyRequest): void => {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new ArchiError('UNSUPPORTED_MEDIA_TYPE', 'send the call as application/json');
    }
  };

  /**
   * Sign `call` as the local identity `as` (ORG/USER) and wait for its commit, on `chain`
   * (default: the network's first): sent only to nodes that host it, signed with the
   * identity of the chain's crypto profile (ClientContext; CHAIN_NOT_FOUND for a chain
   * network.json does not list, INVALID_ARGS for an identity missing in that profile).
   */
  const sendAs = async (
    b: { as: string; node?: string; chain?: string },
    call: Call,
  ): Promise<unknown> => {
    const ctx = ClientContext.resolve({ dir, node: b.node, chain: b.chain });
    const identity = ctx.identity(b.as, await ctx.chainInfo());
    return ctx.withNode((client) => client.send(identity, call, { wait: true, timeoutMs: 30_000 }));
  };

  /** The optional "node" and "chain" of a body: strings when given. */
  const targetOk = (b: any): boolean =>
    (b.node === undefined || typeof b.node === 'string') &&
    (b.chain === undefined || typeof b.chain === 'string');

  app.post('/console-api/sign-and-send', async (req) => {
    guard(req);
    jsonOnly(req);
    const b = req.body as any;
    if (
      typeof b !== 'object' ||
      b === null ||
      typeof b.as !== 'string' ||
      typeof b.contract !== 'string' ||
      typeof b.method !== 'string' ||
      !targetOk(b)
    ) {
      throw new ArchiError(
        'BAD_REQUEST',
        'body must be {"as": "ORG/USER", "contract": string, "method": string, "args": any, "node"?: string, "chain"?: string}',
      );
    }
    return sendAs(b, { contract: b.contract, method: b.method, args: b.args ?? null });
  });

  // Deploy (or upgrade) a TypeScript contract: the browser cannot run esbuild, so this
  // bundles the source exactly as `archi contract deploy` does and sends the same
  // contract_manage tx, signed as a local identity; answers with the committed receipt.
  app.post('/console-api/deploy', async (req) => {
    guard(req);
    jsonOnly(req);
    const b = req.body as any;
    if (
      typeof b !== 'object' ||
      b === null ||
      typeof b.as !== 'string' ||
      typeof b.name !== 'string' ||
      typeof b.source !== 'string' ||
      (b.upgrade !== undefined && typeof b.upgrade !== 'boolean') ||
      !targetOk(b)
    ) {
      throw new ArchiError(
        'BAD_REQUEST',
        'body must be {"as": "ORG/USER", "name": string, "source": string (TypeScript), "upgrade"?: boolean, "node"?: string, "chain"?: string}',
      );
    }
    if (!CONTRACT_NAME.test(b.name)) {
      throw new ArchiError(
        'INVALID_ARGS',
        `contract name must be 2..32 lower-case letters, digits or _ starting with a letter, got "${b.name}"`,
      );
    }
    if (!b.source.trim()) throw new ArchiError('BAD_REQUEST', 'source is empty');
    const code = await buildSource(b.name, b.source);
    return sendAs(b, {
      contract: 'contract_manage',
      method: b.upgrade ? 'upgrade' : 'deploy',
      args: { name: b.name, code },
    });
  });

  await app.listen({ host: '127.0.0.1', port: o.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  allowedOrigins = new Set([...allowedHosts].map((h) => `http://${h}`));
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/**
 * Bundle contract source with the builder `archi contract deploy` uses, from a private temp
 * dir that is removed afterwards; errors name the file as NAME.ts rather than the temp path.
 */
async function buildSource(name: string, source: string): Promise<string> {
  const tmp = await mkdtemp(join(tmpdir(), 'archi-console-deploy-'));
  try {
    const file = join(tmp, `${name}.ts`);
    await writeFile(file, source);
    try {
      return (await buildContract(file)).code;
    } catch (e) {
      if (e instanceof ArchiError) {
        // esbuild names the file relative to the working directory or absolutely: drop
        // every form of the temp dir so the message reads NAME.ts.
        const tmpPath = new RegExp(`[^\\s"']*${basename(tmp)}[\\\\/]`, 'g');
        throw new ArchiError(e.code, e.message.replace(tmpPath, ''));
      }
      throw e;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function serveStatic(dist: string, url: string, reply: FastifyReply): Promise<FastifyReply> {
  let path: string;
  try {
    path = decodeURIComponent(url.split('?')[0]);
  } catch {
    return sendError(
      reply,
      new ArchiError('BAD_URL', 'the URL holds a malformed percent-encoding'),
    );
  }
  let file = resolve(dist, `.${path}`);
  // Anything that is not a file inside dist (a client-side route, a `..` path) gets the app.
  if (!file.startsWith(dist + sep) || !existsSync(file) || !statSync(file).isFile()) {
    file = join(dist, 'index.html');
  }
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return sendError(
      reply,
      new ArchiError('NOT_READY', 'the console is not built: run "npm run build:console"'),
    );
  }
  // Vite names assets by content hash, so they never change; the page itself always may.
  const immutable = file.includes(`${sep}assets${sep}`);
  return reply
    .header('content-type', MIME[extname(file)] ?? 'application/octet-stream')
    .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .send(data);
}

/** Record the console URL (or null) in DIR/network.json, keeping every other field. */
export function recordConsoleUrl(dir: string, url: string | null): void {
  const path = join(dir, 'network.json');
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  raw.console = url;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(raw, null, 2)}\n`);
  renameSync(tmp, path);
}
