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
 *
 * It also passes the console's gateway pages through to the service gateway's admin API
 * (/console-api/gateway/* -> /gw/v1/admin/*, see registerGatewayProxy), adding the operator's
 * token from DIR/gateway/admin.token so that the token never reaches the browser.
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
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { address, getProfile } from '../crypto/profile.ts';
import { certFromPem, parseCertificate } from '../crypto/x509.ts';
import { ArchiError } from '../types/errors.ts';
import { hex } from '../types/hex.ts';
import { buildContract } from '../vm/sandbox/build.ts';
import { CONTRACT_NAME } from '../vm/sandbox/limits.ts';
import { orgProfileBase } from './chain-layout.ts';
import { ClientContext } from './client-context.ts';
import type { Call } from '../sdk/identity.ts';
import type { CommittedAnswer } from '../sdk/types.ts';
import {
  readVerifier,
  verifyCall,
  verifyOutcome,
  verifyRequest,
} from '../apps/trace/public-verify.ts';

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

  // The trace app's public verification (docs/apps/trace.md): the reveal is signed by the
  // identity the operator configured (archi trace verifier), never one the page names.
  app.post('/console-api/trace/verify', async (req) => {
    guard(req);
    jsonOnly(req);
    const r = verifyRequest(req.body);
    const answer = await sendAs({ as: readVerifier(dir), chain: r.chain }, verifyCall(r));
    return verifyOutcome(answer as CommittedAnswer);
  });

  registerGatewayProxy(app, dir, guard, jsonOnly);

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

// ------------------------------------------------------------------ the gateway's admin API

/** What DIR/network.json records of the gateway (`archi gateway start` writes it). */
export interface GatewayRecord {
  url: string;
  id?: string;
  org?: string;
  db?: string;
}

/**
 * The gateway network.json records now, or undefined. Read on every request: a gateway
 * started after the console (or restarted on another port) is found without a restart.
 */
export function recordedGateway(dir: string): GatewayRecord | undefined {
  let g: unknown;
  try {
    g = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'))?.gateway;
  } catch {
    return undefined;
  }
  if (typeof g !== 'object' || g === null) return undefined;
  const r = g as Record<string, unknown>;
  if (typeof r.url !== 'string' || !/^https?:\/\//.test(r.url)) return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { url: r.url.replace(/\/+$/, ''), id: str(r.id), org: str(r.org), db: str(r.db) };
}

/** The admin endpoints the console may read (raw, percent-encoded paths under /gw/v1/admin). */
const GATEWAY_READS = /^(tenants|apps|apps\/[A-Za-z0-9_.-]{1,64}|usage|bill|load)$/;
/** An app id as a path segment (the envelope's app id rule, minus the dot segments). */
const APP_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const GATEWAY_TIMEOUT_MS = 20_000;

/**
 * The console's window on the service gateway, with the operator's token added here:
 *
 * - `GET /console-api/gateway`: `{recorded, url, id, org, db, health, problem}`, always 200;
 *   `health` is the gateway's `/gw/v1/health` answer or null, `problem` says why not.
 * - `GET /console-api/gateway/health`: the gateway's `/gw/v1/health`.
 * - `GET /console-api/gateway/{tenants,apps,apps/ID,usage,bill,load}?...`: the admin endpoint
 *   of that name with the same query (`usage?format=csv` is sent as a file download).
 * - `POST /console-api/gateway/apps/ID/quota` with `{tps?, tpd?}` (a number or null each).
 *
 * Nothing else passes: the console does not create tenants or apps (the CLI does, and keeps
 * an upload-mode app's private keys on the operator's disk). The gateway's own answers and
 * errors pass through with their status; no gateway recorded, no token, or no answer is
 * 503 NOT_READY with a message that says which.
 */
export function registerGatewayProxy(
  app: FastifyInstance,
  dir: string,
  guard: (req: FastifyRequest) => void,
  jsonOnly: (req: FastifyRequest) => void,
): void {
  const tokenPath = join(dir, 'gateway', 'admin.token');

  const target = (): GatewayRecord => {
    const g = recordedGateway(dir);
    if (!g) {
      throw new ArchiError(
        'NOT_READY',
        `no gateway is recorded in ${join(dir, 'network.json')}: start one with "archi gateway start --dir ${dir}" (archi up starts one unless --no-gateway)`,
      );
    }
    return g;
  };

  const token = (): string => {
    const t = readFileSafe(tokenPath).trim();
    if (!t) {
      throw new ArchiError(
        'NOT_READY',
        `no gateway admin token at ${tokenPath}: the gateway writes it on its first start`,
      );
    }
    return t;
  };

  /** One request to the gateway; NOT_READY when it does not answer. */
  const ask = async (
    g: GatewayRecord,
    path: string,
    init: { method?: string; body?: string; auth?: boolean; timeoutMs?: number } = {},
  ): Promise<Response> => {
    const headers: Record<string, string> = {};
    if (init.auth !== false) headers.authorization = `Bearer ${token()}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(`${g.url}${path}`, {
        method: init.method ?? 'GET',
        headers,
        body: init.body,
        redirect: 'error',
        signal: AbortSignal.timeout(init.timeoutMs ?? GATEWAY_TIMEOUT_MS),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why =
        err.name === 'TimeoutError'
          ? `no answer within ${(init.timeoutMs ?? GATEWAY_TIMEOUT_MS) / 1000} s`
          : (err.cause?.code ?? err.cause?.message ?? err.message);
      throw new ArchiError(
        'NOT_READY',
        `the gateway recorded in network.json (${g.url}) does not answer: ${why}`,
      );
    }
  };

  /** The gateway's answer as ours: its status, its JSON or CSV, nothing else of its headers. */
  const relay = async (res: Response, reply: FastifyReply, download?: string) => {
    const text = await res.text();
    const type = res.headers.get('content-type') ?? 'application/json';
    if (res.status >= 400 && !type.startsWith('application/json')) {
      return sendError(
        reply,
        new ArchiError('INTERNAL', `the gateway answered ${res.status}: ${text.slice(0, 200)}`),
      );
    }
    reply.code(res.status).header('content-type', type).header('cache-control', 'no-store');
    if (download && res.ok)
      reply.header('content-disposition', `attachment; filename="${download}"`);
    return reply.send(text);
  };

  app.get('/console-api/gateway', async (req) => {
    guard(req);
    const g = recordedGateway(dir);
    if (!g) {
      return {
        recorded: false,
        url: null,
        id: null,
        org: null,
        db: null,
        health: null,
        problem: `no gateway is recorded in network.json: start one with "archi gateway start --dir ${dir}" (archi up starts one unless --no-gateway)`,
      };
    }
    let health: unknown = null;
    let problem: string | null = null;
    try {
      const res = await ask(g, '/gw/v1/health', { auth: false, timeoutMs: 5000 });
      if (res.ok) health = await res.json();
      else problem = `the gateway's health check answered ${res.status}`;
    } catch (e) {
      problem = (e as Error).message;
    }
    if (!problem && !readFileSafe(tokenPath).trim()) {
      problem = `no gateway admin token at ${tokenPath}`;
    }
    return {
      recorded: true,
      url: g.url,
      id: g.id ?? null,
      org: g.org ?? null,
      db: g.db ?? null,
      health,
      problem,
    };
  });

  app.get('/console-api/gateway/*', async (req, reply) => {
    guard(req);
    const raw = req.url.slice('/console-api/gateway/'.length);
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = q < 0 ? '' : raw.slice(q);
    const g = target();
    if (path === 'health') return relay(await ask(g, '/gw/v1/health', { auth: false }), reply);
    if (!GATEWAY_READS.test(path) || path === 'apps/.' || path === 'apps/..') {
      throw new ArchiError('NOT_FOUND', `no route GET /console-api/gateway/${path}`);
    }
    const params = new URLSearchParams(query);
    let download: string | undefined;
    if (path === 'usage' && params.get('format') === 'csv') {
      const of = params.get('app') ?? params.get('tenant') ?? 'all';
      const range = [params.get('from'), params.get('to')].filter(Boolean).join('_');
      download = `usage-${of}${range ? `-${range}` : ''}.csv`.replace(/[^A-Za-z0-9_.-]/g, '_');
    }
    return relay(await ask(g, `/gw/v1/admin/${path}${query}`), reply, download);
  });

  app.post('/console-api/gateway/apps/:id/quota', async (req, reply) => {
    guard(req);
    jsonOnly(req);
    const id = (req.params as { id: string }).id;
    const b = req.body as Record<string, unknown> | null;
    const limit = (v: unknown) => v === undefined || v === null || typeof v === 'number';
    if (
      !APP_ID.test(id) ||
      id === '.' ||
      id === '..' ||
      typeof b !== 'object' ||
      b === null ||
      Array.isArray(b) ||
      Object.keys(b).some((k) => k !== 'tps' && k !== 'tpd') ||
      (b.tps === undefined && b.tpd === undefined) ||
      !limit(b.tps) ||
      !limit(b.tpd)
    ) {
      throw new ArchiError(
        'BAD_REQUEST',
        'body must be {"tps"?: number | null, "tpd"?: number | null} (at least one; null is no limit)',
      );
    }
    const g = target();
    const body = JSON.stringify({ tps: b.tps, tpd: b.tpd });
    return relay(
      await ask(g, `/gw/v1/admin/apps/${encodeURIComponent(id)}/quota`, { method: 'POST', body }),
      reply,
    );
  });
}
