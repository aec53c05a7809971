/**
 * The main thread's side of the sandbox: starts the sandbox thread once (initSandbox) and
 * runs requests on it synchronously, answering the contract's host requests in between.
 */
import { Worker } from 'node:worker_threads';
import { ArchiError, isErrorCode } from '../../types/errors.ts';
import { Channel, ChannelError, Turn } from './channel.ts';
import type {
  Done,
  HostReply,
  HostRequest,
  InspectRequest,
  RunRequest,
  ToMain,
} from './protocol.ts';

/** Answers one host request; an ArchiError it throws ends the contract call with that code. */
export type HostHandler = (req: HostRequest) => HostReply;

/** Native stack of the sandbox thread: deep enough that QuickJS's own limits always trip first. */
const STACK_MB = 64;
/** A request that gets no answer for this long means the sandbox thread is stuck or gone. */
const ANSWER_TIMEOUT_MS = 60_000;

/** Turn anything a host handler threw into the reply that ends the contract call. */
export function errorReply(e: unknown): HostReply {
  if (e instanceof ArchiError) return { t: 'err', code: e.code, message: e.message };
  return { t: 'err', code: 'CONTRACT_ERROR', message: (e as Error)?.message ?? String(e) };
}

/** Answer deferred requests in order; the first refusal, or undefined when all were ok. */
function answerDeferred(
  pre: HostRequest[],
  onHost: HostHandler,
): (HostReply & { t: 'err' }) | undefined {
  for (const req of pre) {
    try {
      const r = onHost(req);
      if (r.t === 'err') return r;
      // A read the sandbox answered itself must match the state (see RunRequest.prefetch).
      if (req.seen !== undefined && (r.v ?? null) !== req.seen) {
        return {
          t: 'err',
          code: 'INTERNAL',
          message: `contract sandbox read ${JSON.stringify(req.a)} from a stale view`,
        };
      }
    } catch (e) {
      return errorReply(e) as HostReply & { t: 'err' };
    }
  }
  return undefined;
}

class SandboxThread {
  private worker?: Worker;
  private channel?: Channel;
  private starting?: Promise<void>;
  private depth = 0;
  private needsRestart = false;

  get ready(): boolean {
    return this.channel !== undefined;
  }

  start(): Promise<void> {
    this.starting ??= new Promise<void>((resolve, reject) => {
      const sab = Channel.create();
      const w = new Worker(new URL('./worker.mjs', import.meta.url), {
        workerData: { sab },
        resourceLimits: { stackSizeMb: STACK_MB },
      });
      w.unref();
      let ready = false;
      w.once('message', (m) => {
        if (m !== 'ready') return;
        ready = true;
        this.worker = w;
        this.channel = new Channel(sab, Turn.main);
        resolve();
      });
      w.once('error', (e) => {
        if (!ready) {
          this.starting = undefined;
          reject(new ArchiError('INTERNAL', `contract sandbox failed to start: ${e.message}`));
        }
      });
      w.once('exit', () => {
        if (!ready) {
          this.starting = undefined;
          reject(new ArchiError('INTERNAL', 'contract sandbox exited while starting'));
        } else if (this.worker === w) this.reset();
      });
    });
    return this.starting;
  }

  private reset(): void {
    this.worker = undefined;
    this.channel = undefined;
    this.starting = undefined;
  }

  /** Replace a sandbox thread that failed (its QuickJS state can no longer be trusted). */
  private restart(): void {
    this.needsRestart = false;
    const old = this.worker;
    this.channel?.kill();
    this.reset();
    if (old) void old.terminate();
    this.start().catch(() => {});
  }

  /** Send a request and serve the sandbox's host requests until it is done. */
  request(req: RunRequest | InspectRequest, onHost: HostHandler, code?: () => string): Done {
    const ch = this.channel;
    if (!ch) {
      throw new ArchiError(
        'NOT_READY',
        'the contract sandbox is not running (initSandbox() must complete at start-up)',
      );
    }
    this.depth++;
    try {
      ch.send(req);
      for (;;) {
        const m = ch.recv(ANSWER_TIMEOUT_MS) as ToMain;
        if (m.t === 'done') {
          const refused = m.pre && answerDeferred(m.pre, onHost);
          if (refused)
            return { t: 'done', ok: false, code: refused.code, message: refused.message };
          if (!m.ok && m.restart) this.needsRestart = true;
          return m;
        }
        if (m.t === 'need') {
          if (!code) throw new ArchiError('INTERNAL', 'the sandbox asked for code it was given');
          ch.send({ t: 'code', code: code() });
          continue;
        }
        let reply: HostReply | undefined = m.pre && answerDeferred(m.pre, onHost);
        if (!reply && m.op === 'flush') reply = { t: 'ok' };
        if (!reply) {
          try {
            reply = onHost(m);
          } catch (e) {
            reply = errorReply(e);
          }
        }
        ch.send(reply);
      }
    } catch (e) {
      if (e instanceof ChannelError) {
        this.needsRestart = true;
        throw new ArchiError('INTERNAL', `contract sandbox: ${e.message}`);
      }
      throw e;
    } finally {
      this.depth--;
      if (this.depth === 0 && this.needsRestart) this.restart();
    }
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.channel?.kill();
    this.reset();
    if (w) await w.terminate();
  }
}

export const sandbox = new SandboxThread();

/** Start the sandbox thread (QuickJS); await it once at start-up before executing blocks. */
export function initSandbox(): Promise<void> {
  return sandbox.start();
}

/** Stop the sandbox thread (tests; a node simply exits). */
export function closeSandbox(): Promise<void> {
  return sandbox.close();
}

/** An ArchiError from a failed Done. */
export function doneError(d: Done & { ok: false }): ArchiError {
  return new ArchiError(isErrorCode(d.code) ? d.code : 'CONTRACT_ERROR', d.message);
}
