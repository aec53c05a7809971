/**
 * A real Hardhat node for the EVM bridge tests and bench: started as a process of its own on
 * 127.0.0.1 and a free port (test/evm/hardhat.config.cjs, Osaka: the P-256 precompile at 0x100),
 * ended by `stop`. Nothing is compiled or downloaded: contracts come from src/evm/artifacts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonRpcProvider, type JsonRpcSigner } from 'ethers';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface HardhatNode {
  url: string;
  provider: JsonRpcProvider;
  /** The node's funded accounts, as signers. */
  signers: JsonRpcSigner[];
  stop(): Promise<void>;
}

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts a Hardhat node and waits until its JSON-RPC answers (60 s at most). */
export async function startHardhatNode(): Promise<HardhatNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    join(ROOT, 'node_modules', '.bin', 'hardhat'),
    [
      '--config',
      join(ROOT, 'test', 'evm', 'hardhat.config.cjs'),
      'node',
      '--hostname',
      '127.0.0.1',
      '--port',
      String(port),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  // Keep the tail only: the node logs every call.
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const stop = async () => {
    if (exited) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  while (!(await rpcAnswers(url))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`hardhat node did not start on ${url}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // Polling is for event subscriptions; tests wait on receipts instead.
  const provider = new JsonRpcProvider(url, undefined, {
    staticNetwork: true,
    pollingInterval: 50,
  });
  const accounts: string[] = await provider.send('eth_accounts', []);
  const signers = await Promise.all(accounts.slice(0, 5).map((a) => provider.getSigner(a)));
  return {
    url,
    provider,
    signers,
    async stop() {
      provider.destroy();
      await stop();
    },
  };
}
