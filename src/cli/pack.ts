/**
 * `archi pack`: one self-contained bundle (.tar.gz) per node of a network directory, for an
 * operator to copy to that node's host: the files its node.json references (keys,
 * certificates, CA certificates, genesis files), node.json rewritten with paths relative to
 * the bundle, a systemd unit and a README. Only files node.json names are taken, private
 * keys only from the node's own directory, and any other file holding a private key is
 * refused, so no other node's, org's or user's key can end up in a bundle.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { create as tarCreate } from 'tar';
import { ArchiError } from '../types/errors.ts';
import { NODE_V8_FLAGS } from '../node/v8-flags.ts';
import { jsonText, SIMPLE_NAME } from './init-network.ts';

/** Where bundles are installed on a host unless --install-dir says otherwise. */
export const DEFAULT_INSTALL_ROOT = '/opt/archipelago';
/** The system user the systemd unit runs the node as. */
export const SERVICE_USER = 'archipelago';

export interface PackOptions {
  /** Network directory made by `archi init`. */
  dir: string;
  /** Node to bundle (a directory under DIR/nodes). */
  node: string;
  /** Bundle file to write; default DIR/bundles/<node>.tar.gz. Never overwritten. */
  out?: string;
  /** Absolute directory the bundle is unpacked into on its host; default /opt/archipelago/<node>. */
  installDir?: string;
}

export interface PackResult {
  node: string;
  /** Absolute path of the written bundle. */
  out: string;
  installDir: string;
  /** Paths inside the bundle, below its top directory `<node>/`. */
  files: string[];
}

/** One file of a bundle: its content and whether only its owner may read it. */
interface BundleFile {
  data: Buffer | string;
  secret: boolean;
  /** Where it came from, for error messages; undefined for generated files. */
  source?: string;
}

const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
// Written into a systemd unit unquoted, so only characters systemd takes literally.
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;

function badArg(message: string): never {
  throw new ArchiError('INVALID_ARGS', `pack: ${message}`);
}

function badConfig(message: string): never {
  throw new ArchiError('CONFIG_INVALID', `pack: ${message}`);
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Nodes of DIR that have a node.json, sorted. */
export function packableNodes(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'nodes'), { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(dir, 'nodes', e.name, 'node.json')))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * Collects a bundle's files: bundle paths are relative to the node's directory for files
 * in it (node.key.pem) and relative to DIR for the rest (genesis.json, orgs/...).
 */
class BundlePlan {
  readonly files = new Map<string, BundleFile>();
  private readonly realDir: string;
  private readonly realNodeDir: string;

  constructor(
    readonly dir: string,
    readonly nodeDir: string,
    readonly configPath: string,
  ) {
    this.realDir = realpathSync(dir);
    this.realNodeDir = realpathSync(nodeDir);
  }

  /** Bundle path of `abs`, which must lie inside DIR (refused otherwise). */
  bundlePath(abs: string, field: string): string {
    if (inside(this.nodeDir, abs)) return relative(this.nodeDir, abs).split(sep).join('/');
    if (inside(this.dir, abs)) return relative(this.dir, abs).split(sep).join('/');
    return badConfig(
      `${this.configPath}: ${field} ${abs} lies outside ${this.dir}; copy it into the network directory`,
    );
  }

  add(path: string, file: BundleFile): void {
    const had = this.files.get(path);
    if (had && had.source !== file.source) {
      badConfig(
        `${this.configPath}: ${had.source ?? 'a generated file'} and ${file.source ?? 'a generated file'} would both be ${path} in the bundle`,
      );
    }
    this.files.set(path, file);
  }

  /**
   * Takes the file a node.json field names and returns its bundle path. A private key is
   * taken only for a key field and only from the node's own directory; anywhere else it
   * is refused, so a mistaken path cannot carry another identity's key off.
   */
  addFile(raw: unknown, base: string, field: string, privateKey: boolean): string {
    if (typeof raw !== 'string' || raw === '') {
      badConfig(`${this.configPath}: ${field} must be a path`);
    }
    const abs = resolve(base, raw);
    const path = this.bundlePath(abs, field);
    let data: Buffer;
    let real: string;
    try {
      real = realpathSync(abs);
      if (!statSync(real).isFile()) badConfig(`${this.configPath}: ${field} ${abs} is not a file`);
      data = readFileSync(real);
    } catch (e) {
      if (e instanceof ArchiError) throw e;
      return badConfig(`${this.configPath}: ${field}: cannot read ${abs}: ${(e as Error).message}`);
    }
    if (!inside(this.realDir, real)) {
      badConfig(`${this.configPath}: ${field} ${abs} leads outside ${this.dir}`);
    }
    const holdsKey = PRIVATE_KEY.test(data.toString('latin1'));
    if (privateKey && !inside(this.realNodeDir, real)) {
      badConfig(
        `${this.configPath}: ${field} ${abs} is not in ${this.nodeDir}; a bundle carries only its own node's keys`,
      );
    }
    if (holdsKey && !privateKey) {
      badConfig(
        `${this.configPath}: ${field} ${abs} holds a private key; a bundle carries only its node's own keys`,
      );
    }
    this.add(path, { data, secret: privateKey, source: abs });
    return path;
  }

  /**
   * caCerts names a directory of org folders (DIR/orgs) or one file; of a directory only
   * each org's public CA certificate is taken, never the CA keys beside it.
   */
  addCaCerts(raw: unknown, base: string, field: string): string {
    if (typeof raw !== 'string' || raw === '') {
      badConfig(`${this.configPath}: ${field} must be a path`);
    }
    const abs = resolve(base, raw);
    if (!isDir(abs)) return this.addFile(raw, base, field, false);
    const path = this.bundlePath(abs, field);
    for (const org of readdirSync(abs, { withFileTypes: true })) {
      if (!org.isDirectory()) continue;
      const cert = join(abs, org.name, 'ca', 'cert.pem');
      if (existsSync(cert)) this.addFile(cert, base, `${field} (${org.name})`, false);
    }
    return path;
  }
}

/**
 * Rewrites the path fields of a node.json or of one chains[] entry into `plan`'s bundle
 * paths, taking the files they name. dataDir is only renamed: data is never copied.
 */
function rewriteEntry(
  plan: BundlePlan,
  entry: Record<string, any>,
  base: string,
  where: string,
  defaultData: string,
): Record<string, any> {
  const out = { ...entry };
  if (entry.genesis !== undefined) {
    out.genesis = plan.addFile(entry.genesis, base, `${where}genesis`, false);
  }
  if (entry.key !== undefined) out.key = plan.addFile(entry.key, base, `${where}key`, true);
  if (entry.cert !== undefined) out.cert = plan.addFile(entry.cert, base, `${where}cert`, false);
  if (entry.caCerts !== undefined) {
    out.caCerts = plan.addCaCerts(entry.caCerts, base, `${where}caCerts`);
  }
  if (entry.tls !== undefined) {
    const tls = entry.tls;
    if (typeof tls !== 'object' || tls === null || !Array.isArray(tls.cas)) {
      badConfig(
        `${plan.configPath}: ${where}tls must be {"key": path, "cert": path, "cas": [path, ...]}`,
      );
    }
    out.tls = {
      ...tls,
      key: plan.addFile(tls.key, base, `${where}tls.key`, true),
      cert: plan.addFile(tls.cert, base, `${where}tls.cert`, false),
      cas: tls.cas.map((c: unknown, i: number) =>
        plan.addFile(c, base, `${where}tls.cas[${i}]`, false),
      ),
    };
  }
  if (entry.dataDir !== undefined) {
    if (typeof entry.dataDir !== 'string' || entry.dataDir === '') {
      badConfig(`${plan.configPath}: ${where}dataDir must be a path`);
    }
    const abs = resolve(base, entry.dataDir);
    // Kept where it was relative to the node; a data dir elsewhere moves into the bundle.
    out.dataDir =
      inside(plan.nodeDir, abs) && abs !== plan.nodeDir
        ? relative(plan.nodeDir, abs).split(sep).join('/')
        : defaultData;
  }
  return out;
}

function checkInstallDir(installDir: string): string {
  if (
    !SAFE_PATH.test(installDir) ||
    posix.normalize(installDir) !== installDir ||
    installDir.replace(/\/+$/, '') === ''
  ) {
    badArg(
      `--install-dir must be a normalized absolute path of letters, digits, '.', '_', '-' and '/', got "${installDir}"`,
    );
  }
  return installDir.length > 1 ? installDir.replace(/\/$/, '') : installDir;
}

/** Rejects output paths that exist already; nothing is ever overwritten. */
function refuseExistingOut(out: string): void {
  if (existsSync(out)) {
    badArg(`${out} already exists; remove it or give another --out`);
  }
}

/** Writes the bundle of `opts.node` and returns where; see the file comment. */
export async function packNode(opts: PackOptions): Promise<PackResult> {
  if (typeof opts?.dir !== 'string' || opts.dir.trim() === '') badArg('--dir is required');
  const dir = resolve(opts.dir);
  if (!isDir(dir)) badArg(`no network directory at ${dir}`);
  if (!isDir(join(dir, 'nodes'))) {
    badArg(`${dir} holds no nodes/ directory; create a network with archi init`);
  }
  const known = packableNodes(dir);
  const node = opts.node;
  if (typeof node !== 'string' || !SIMPLE_NAME.test(node) || !known.includes(node)) {
    badArg(`no node named ${String(node)} in ${dir} (nodes: ${known.join(', ') || 'none'})`);
  }
  const installDir = checkInstallDir(opts.installDir ?? `${DEFAULT_INSTALL_ROOT}/${node}`);
  const out = resolve(opts.out ?? join(dir, 'bundles', `${node}.tar.gz`));
  refuseExistingOut(out);

  const nodeDir = join(dir, 'nodes', node);
  const configPath = join(nodeDir, 'node.json');
  let raw: any;
  try {
    raw = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    badConfig(`${configPath}: cannot read: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    badConfig(`${configPath} is not a JSON object`);
  }
  if (raw.name !== undefined && raw.name !== node) {
    badConfig(`${configPath} names node ${String(raw.name)}, not ${node}`);
  }

  const plan = new BundlePlan(dir, nodeDir, configPath);
  const config = rewriteEntry(plan, raw, nodeDir, '', 'data');
  if (raw.chains !== undefined) {
    if (!Array.isArray(raw.chains)) badConfig(`${configPath}: chains must be a list`);
    config.chains = raw.chains.map((c: unknown, i: number) => {
      if (typeof c !== 'object' || c === null)
        badConfig(`${configPath}: chains[${i}] is not an object`);
      const id = (c as any).chainId;
      const data = typeof id === 'string' && SIMPLE_NAME.test(id) ? `data/${id}` : `data/chain${i}`;
      return rewriteEntry(plan, c as Record<string, any>, nodeDir, `chains[${i}].`, data);
    });
  }

  const info = describeNode(config, node, installDir, basename(out));
  plan.add('node.json', { data: jsonText(config), secret: false });
  plan.add(unitName(node), { data: systemdUnit(info), secret: false });
  plan.add('README.md', { data: bundleReadme(info, [...plan.files.keys()]), secret: false });

  await writeBundle(out, node, plan.files);
  return { node, out, installDir, files: [...plan.files.keys()].sort() };
}

/** Writes `files` under a top directory `<node>/` into a .tar.gz at `out`, never replacing it. */
async function writeBundle(
  out: string,
  node: string,
  files: Map<string, BundleFile>,
): Promise<void> {
  const stage = await mkdtemp(join(tmpdir(), 'archi-pack-'));
  // The bundle holds private keys: owner-only from its first byte.
  await mkdir(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const entries = new Set<string>([node]);
    for (const [path, f] of files) {
      const abs = join(stage, node, path);
      await mkdir(dirname(abs), { recursive: true, mode: 0o700 });
      await writeFile(abs, f.data, { mode: f.secret ? 0o600 : 0o644, flag: 'wx' });
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++) entries.add(`${node}/${parts.slice(0, i).join('/')}`);
      entries.add(`${node}/${path}`);
    }
    // Directories listed explicitly (not recursed) so the archive's order and modes are fixed.
    for (const d of entries) if (isDir(join(stage, d))) await chmod(join(stage, d), 0o700);
    await writeFile(tmp, '', { mode: 0o600, flag: 'wx' });
    await tarCreate(
      { gzip: true, file: tmp, cwd: stage, portable: true, noDirRecurse: true },
      [...entries].sort(),
    );
    await publish(tmp, out);
  } finally {
    await rm(stage, { recursive: true, force: true });
    await unlink(tmp).catch(() => {});
  }
}

/** Moves the finished temp file to `out` unless something appeared there meanwhile. */
async function publish(tmp: string, out: string): Promise<void> {
  try {
    // link, unlike rename, fails when the target exists: no window to overwrite a file.
    await link(tmp, out);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') badArg(`${out} already exists; remove it or give another --out`);
    // A file system without hard links: check, then rename.
    refuseExistingOut(out);
    await rename(tmp, out);
  }
}

/** The file name of a node's systemd unit. */
export function unitName(node: string): string {
  return `archipelago-${node}.service`;
}

/** What the unit and the README say about one node. */
interface NodeInfo {
  node: string;
  /** File name of the bundle, as the operator copies it. */
  bundleFile: string;
  org: string;
  chains: string[];
  installDir: string;
  rpc?: { host: string; port: number };
  p2p?: { host: string; port: number };
  peers: Array<{ name: string; address: string }>;
}

function endpointOf(v: any): { host: string; port: number } | undefined {
  return typeof v?.host === 'string' && Number.isInteger(v?.port)
    ? { host: v.host, port: v.port }
    : undefined;
}

function describeNode(
  config: Record<string, any>,
  node: string,
  installDir: string,
  bundleFile: string,
): NodeInfo {
  const chains = Array.isArray(config.chains)
    ? config.chains.map((c: any) => String(c?.chainId))
    : [String(config.chainId)];
  return {
    node,
    bundleFile,
    org: String(config.org),
    chains,
    installDir,
    rpc: endpointOf(config.rpc),
    p2p: endpointOf(config.p2p),
    peers: Array.isArray(config.peers) ? config.peers : [],
  };
}

function url(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The systemd unit that runs the node from its install directory as SERVICE_USER. */
export function systemdUnit(n: NodeInfo): string {
  return `[Unit]
Description=Archipelago node ${n.node} (${n.org}, chain ${n.chains.join(', ')})
Documentation=file://${n.installDir}/README.md
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${SERVICE_USER}
Group=${SERVICE_USER}
WorkingDirectory=${n.installDir}
# archi and node are looked up on systemd's PATH (/usr/local/bin, /usr/bin, ...).
Environment=NODE_OPTIONS=${NODE_V8_FLAGS.join(' ')}
ExecStart=/usr/bin/env archi node start --config ${n.installDir}/node.json
Restart=on-failure
RestartSec=5
# SIGTERM lets the node close its store and WAL; give it time before SIGKILL.
KillSignal=SIGTERM
TimeoutStopSec=60
LimitNOFILE=65536
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
# The node writes only its data directory, which lies inside the install directory.
ReadWritePaths=${n.installDir}

[Install]
WantedBy=multi-user.target
`;
}

function describeFile(path: string, node: string): string {
  if (path === 'node.json') return 'the node configuration (paths relative to this directory)';
  if (path === 'README.md') return 'this file';
  if (path === unitName(node)) return 'systemd unit';
  if (/(^|\/)genesis[^/]*\.json$/.test(path))
    return 'genesis of the chain (identical on every node)';
  if (path === 'node.key.pem' || /(^|\/)node\.key\.pem$/.test(path)) {
    return "**private**: this node's consensus signing key";
  }
  if (/(^|\/)tls\.key\.pem$/.test(path)) return "**private**: this node's TLS key";
  if (/(^|\/)node\.cert\.pem$/.test(path)) return "this node's consensus certificate";
  if (/(^|\/)tls\.cert\.pem$/.test(path)) return "this node's TLS certificate";
  const tlsca = /^orgs\/([^/]+)\/tlsca\/cert\.pem$/.exec(path);
  if (tlsca) return `TLS CA certificate of ${tlsca[1]} (peers are checked against it)`;
  const ca = /^orgs\/([^/]+)\/ca\/cert\.pem$/.exec(path);
  if (ca) return `CA certificate of ${ca[1]}`;
  return '';
}

/** The operator's README inside a bundle. */
export function bundleReadme(n: NodeInfo, files: string[]): string {
  const d = n.installDir;
  const unit = unitName(n.node);
  const p2pPort = n.p2p?.port ?? '<p2p port>';
  const rpcPort = n.rpc?.port ?? '<rpc port>';
  const rpcUrl = n.rpc ? url(n.rpc.host, n.rpc.port) : 'http://<host>:<rpc port>';
  const peerHosts = n.peers.map((p) => p.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''));
  const list = [...files]
    .sort()
    .map((f) => {
      const what = describeFile(f, n.node);
      return `- \`${f}\`${what ? `: ${what}` : ''}`;
    })
    .join('\n');
  const peers = n.peers.length
    ? n.peers.map((p) => `- ${p.name} at \`${p.address}\``).join('\n')
    : '- none (a single-node chain)';
  return `# Archipelago node ${n.node} (${n.org})

This bundle runs node **${n.node}** of organization **${n.org}** on chain ${n.chains.map((c) => `\`${c}\``).join(', ')}.
It listens for peers on \`${n.p2p ? `${n.p2p.host}:${n.p2p.port}` : '?'}\` and serves its RPC on \`${rpcUrl}\`.

## What is in it

${list}

The only private keys here are this node's own: its consensus signing key and its TLS key.
No other node's or organization's key is in this bundle, and neither are ${n.org}'s **admin
and client keys**: they sign governance votes and transactions, and stay with ${n.org}'s
administrator (in the network directory made by \`archi init\`), not on the node's host.
The chain's data is not in the bundle either: the node creates \`data/\` on its first start.

Keep \`node.key.pem\` secret and backed up, and never run this node on two hosts at once:
two copies would sign conflicting votes at the same height, which the other validators record
as double-sign evidence. To move the node, stop it and move the whole directory, \`data/\`
included (it holds the double-sign guard).

## 1. Install Node.js and Archipelago

- Node.js 20 (20.19 or later) or 24 LTS, from your distribution or nodejs.org; check with
  \`node --version\`.
- Archipelago: the same version (commit) as the rest of the network, as a source tree (a git
  clone or a copy) at \`/opt/archipelago/app\`; \`npm ci\` installs its dependencies from its
  lock file and a link puts \`archi\` on the PATH that systemd searches:

\`\`\`sh
sudo git clone <your Archipelago repository> /opt/archipelago/app   # or copy the tree there
cd /opt/archipelago/app && sudo npm ci
sudo ln -s /opt/archipelago/app/bin/archi.js /usr/local/bin/archi
archi --version
\`\`\`

## 2. Unpack and hand it to the service user

\`\`\`sh
sudo useradd --system --no-create-home --shell /usr/sbin/nologin ${SERVICE_USER}   # once per host
sudo mkdir -p ${d}
sudo tar -xzf ${n.bundleFile} -C ${d} --strip-components=1
sudo chown -R ${SERVICE_USER}:${SERVICE_USER} ${d}
sudo chmod 700 ${d}
\`\`\`

The systemd unit expects exactly this directory (${d}); if you unpack elsewhere, change
\`WorkingDirectory\`, \`ExecStart\` and \`ReadWritePaths\` in \`${unit}\`.

## 3. Open the ports

- **${p2pPort}/tcp** (p2p, mutual TLS): from the other nodes' hosts (${peerHosts.length ? peerHosts.map((h) => `\`${h}\``).join(', ') : 'none'}).
  Peers authenticate each other by certificate, but there is no reason to expose the port further.
- **${rpcPort}/tcp** (RPC, HTTP): from the machines that run \`archi\` client commands or the
  console against this node (the administrators' machines, your applications). The RPC has no
  TLS of its own: keep it on a private network or put a TLS proxy in front of it.

For example with ufw: \`sudo ufw allow from <peer address> to any port ${p2pPort} proto tcp\`
for each peer, and the same for port ${rpcPort} from your clients.

The node dials its peers at:

${peers}

It listens on the host name or address \`node.json\` gives (\`rpc.host\`, \`p2p.host\`). That
address must belong to this machine; behind NAT (a cloud VM with a public address it does not
see), set both to \`0.0.0.0\` (or the private address) and leave \`peers\` as they are.

## 4. Start it

\`\`\`sh
sudo cp ${d}/${unit} /etc/systemd/system/
sudo systemctl daemon-reload
sudo systemctl enable --now ${unit.replace(/\.service$/, '')}
journalctl -u ${unit.replace(/\.service$/, '')} -f          # its log
\`\`\`

To try it in the foreground first: \`sudo -u ${SERVICE_USER} archi node start --config ${d}/node.json\`
(Ctrl-C stops it).

## 5. Check it

\`\`\`sh
archi status --rpc ${rpcUrl}
\`\`\`

shows its height and how many peers are connected; the height grows once more than two thirds
of the validators' voting power is online. From the administrator's machine,
\`archi status --dir <network directory>\` shows every node.
`;
}
