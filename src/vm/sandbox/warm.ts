/**
 * Warm contract slots (sandbox thread). A cold call pays for a QuickJS runtime, context,
 * prelude and module every time (most of a call's cost). A slot is a QuickJS instance of its
 * own (its own WebAssembly memory) set up once for one contract and sealed; after each call
 * its memory is restored to the seal, so every call starts from the same bytes:
 *
 * - the static region (QuickJS's and libc's globals, dlmalloc's state) and the heap up to its
 *   last live byte at the seal are copied back; the stack below the stack pointer and the
 *   heap above dlmalloc's restored top hold only dead data, which no code reads;
 * - so module-level variables, prototype changes, garbage and GC thresholds, the interrupt
 *   counter (gas ticks) and the allocation count (the memory limit) are those of the seal
 *   on every node, whatever ran before, and equal to a cold call's (same steps, same order).
 *
 * Nothing else keeps state across calls: the JS side of quickjs-emscripten makes no handle or
 * host function during a call that outlives it (engine.ts keeps per-call handles apart and
 * drops them unfreed). A module whose set-up asks anything of the host (an interrupt tick, a
 * forbidden API) is never warmed: its cold calls pay that again each time, as they must.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSHandle,
  type QuickJSWASMModule,
  RELEASE_SYNC,
} from 'quickjs-emscripten';
import { Call, type CallEnv, type MethodCall, setUp } from './engine.ts';
import { LIMITS } from './limits.ts';
import type { Done, HostReply, RunRequest } from './protocol.ts';
import { type WasmLayout, wasmLayout } from './wasm-layout.ts';

const PAGE = 65536;

// @types/node does not declare the WebAssembly global; this is the part used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const wasmFile = createRequire(
  createRequire(import.meta.url).resolve('quickjs-emscripten'),
).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
const binary = readFileSync(wasmFile);
/** The compiled module, shared by every instance of this thread. */
const wasmModule = new Wasm.Module(binary);
export const LAYOUT: WasmLayout = wasmLayout(binary);

/** One QuickJS WebAssembly instance with its own memory. */
export interface Instance {
  quickjs: QuickJSWASMModule;
  memory: WasmMemory;
  /** Failed attempts to grow the memory so far (any failure means the heap is exhausted). */
  heapFailures(): number;
}

/**
 * A QuickJS instance whose memory is the whole sandbox heap from the start and never grows,
 * so a failed grow is exactly "the heap is exhausted", whatever ran in it before (a growable
 * memory would fail differently depending on how far earlier calls had grown it). Pages
 * never written are never made resident.
 */
export async function newInstance(): Promise<Instance> {
  const pages = LIMITS.heapBytes / PAGE;
  const memory = new Wasm.Memory({ initial: pages, maximum: pages });
  let failures = 0;
  const grow = memory.grow.bind(memory);
  Object.defineProperty(memory, 'grow', {
    value: (delta: number) => {
      try {
        return grow(delta);
      } catch (e) {
        failures++;
        throw e;
      }
    },
  });
  const quickjs = await newQuickJSWASMModuleFromVariant(
    newVariant(RELEASE_SYNC, { wasmMemory: memory as never, wasmModule: wasmModule as never }),
  );
  return { quickjs, memory, heapFailures: () => failures };
}

/**
 * After a call, one word per this many bytes above the sealed heap is looked at: a call that
 * wrote far up leaves its pages resident, so its slot is dropped (a fresh one costs little).
 */
const PROBE_STEP = 1024 * 1024;

/** What a spare instance's emscripten module exports that the calibration uses. */
interface Allocator {
  _malloc(size: number): number;
  _free(ptr: number): void;
}

/**
 * Where dlmalloc keeps its top-chunk pointer (a word of the static region), found once per
 * thread; null when it cannot be found (then nothing is warmed). Every live chunk lies below
 * the top chunk, so its address ends the heap a slot must restore.
 */
let topPointerAt: number | null | undefined;

/**
 * Find the top pointer in a throwaway instance: a fresh 1 MiB allocation is carved from the
 * top chunk, which moves up by exactly its size; the one static word that went from the
 * block's chunk to just past it is the pointer. Anything else (another allocator, several
 * candidates) leaves warm slots off rather than guessing.
 */
async function calibrate(): Promise<number | null> {
  const inst = await newInstance();
  const alloc = (inst.quickjs as unknown as { module: Allocator }).module;
  const words = () => new Int32Array(inst.memory.buffer, 0, LAYOUT.staticEnd / 4);
  const before = words().slice();
  const size = 1024 * 1024;
  const p = alloc._malloc(size);
  if (!p) return null;
  const after = words();
  const found: number[] = [];
  for (let i = 0; i < after.length; i++) {
    if (before[i] === p - 8 && after[i] === p + size) found.push(i * 4);
  }
  alloc._free(p);
  return found.length === 1 ? found[0] : null;
}

/** End of the live heap: the top chunk's header (its size word) included. */
function liveHeapEnd(buffer: ArrayBuffer, topAt: number): number {
  const top = new Int32Array(buffer, topAt, 1)[0];
  if (!(top >= LAYOUT.stackTop && top + 8 <= buffer.byteLength)) {
    throw new Error(`dlmalloc's top chunk at ${top} is outside the heap`);
  }
  return top + 8;
}

/** One contract set up and sealed in its own instance. */
export class WarmSlot {
  busy = false;
  dead = false;
  private staticCopy!: Uint8Array;
  private heapCopy!: Uint8Array;
  private constructor(
    private readonly inst: Instance,
    private readonly call: Call,
    private readonly mod: QuickJSHandle,
  ) {}

  /** Set up `code` in `inst`; undefined when it cannot be warmed (the caller goes cold). */
  static make(
    inst: Instance,
    code: string,
    name: string,
    rpc: CallEnv['rpc'],
    topAt: number,
  ): WarmSlot | undefined {
    // During the set-up any request to the host ends it: it would be answered for (and
    // charged to) one call only, where a cold call makes it every time.
    let asked = false;
    const hostRpc = {
      current: ((): HostReply => {
        asked = true;
        return { t: 'err', code: 'INTERNAL', message: 'not warmable' };
      }) as CallEnv['rpc'],
    };
    const call = new Call({
      quickjs: inst.quickjs,
      rpc: (req) => hostRpc.current(req),
      heapFailures: inst.heapFailures,
    });
    const mod = setUp(call, code, name);
    if (asked || 't' in mod || call.fault || call.heapExhausted) return undefined;
    hostRpc.current = rpc;
    const slot = new WarmSlot(inst, call, mod);
    slot.snapshot(topAt);
    return slot;
  }

  private snapshot(topAt: number): void {
    const buffer = this.inst.memory.buffer;
    const mem = new Uint8Array(buffer);
    this.staticCopy = mem.slice(0, LAYOUT.staticEnd);
    this.heapCopy = mem.slice(LAYOUT.stackTop, liveHeapEnd(buffer, topAt));
  }

  private restore(): void {
    const mem = new Uint8Array(this.inst.memory.buffer);
    mem.set(this.staticCopy, 0);
    mem.set(this.heapCopy, LAYOUT.stackTop);
    const words = new Int32Array(this.inst.memory.buffer);
    const from = LAYOUT.stackTop + this.heapCopy.length + PROBE_STEP;
    for (let at = from; at < mem.length; at += PROBE_STEP) {
      if (words[at >> 2] !== 0) {
        this.dead = true;
        return;
      }
    }
  }

  /** Run a method from the sealed state, then restore it. */
  run(c: MethodCall): Done {
    this.busy = true;
    try {
      this.call.begin();
      return this.call.call(this.mod, c);
    } finally {
      this.restore();
      this.call.abandonCall();
      this.busy = false;
    }
  }
}

/** Instances made ahead (making one is asynchronous; a call cannot wait for it). */
const SPARE_INSTANCES = 2;
/** Contracts kept warm at once (least recently used first out). */
const MAX_SLOTS = 16;
/** Above this size a contract runs cold (a slot keeps a copy of its set-up heap). */
const MAX_WARM_CODE = 256 * 1024;

/** Warm slots by code hash, and the spare instances new slots are made in. */
export class WarmPool {
  /** The top pointer's place (see calibrate), for tests that make slots themselves. */
  static async topPointer(): Promise<number | null> {
    topPointerAt ??= await calibrate();
    return topPointerAt;
  }

  private readonly spares: Instance[] = [];
  private readonly slots = new Map<string, WarmSlot>();
  /** Contracts whose set-up asks the host for something: always cold. */
  private readonly cold = new Set<string>();

  constructor(private readonly rpc: CallEnv['rpc']) {}

  /** Whether `refill` has work to do. */
  get wantsRefill(): boolean {
    return topPointerAt !== null && this.spares.length < SPARE_INSTANCES;
  }

  /** Make one spare instance (between requests: the thread is otherwise synchronous). */
  async refill(): Promise<void> {
    if ((await WarmPool.topPointer()) !== null) this.spares.push(await newInstance());
  }

  /**
   * Run a call in the contract's warm slot (made now if a spare instance is ready);
   * undefined when it must run cold (no spare, not warmable, or the slot is in use by a
   * call further up the stack: same code under two names).
   */
  run(m: RunRequest, code: () => string): Done | undefined {
    const { codeHash } = m;
    let slot = this.slots.get(codeHash);
    if (slot?.busy) return undefined;
    if (slot) {
      // Most recently used last.
      this.slots.delete(codeHash);
      this.slots.set(codeHash, slot);
    } else {
      if (this.cold.has(codeHash) || this.spares.length === 0 || !topPointerAt) return undefined;
      const text = code();
      if (text.length > MAX_WARM_CODE) {
        this.cold.add(codeHash);
        return undefined;
      }
      slot = WarmSlot.make(this.spares.pop() as Instance, text, m.name, this.rpc, topPointerAt);
      if (!slot) {
        this.cold.add(codeHash);
        return undefined;
      }
      this.evict();
      this.slots.set(codeHash, slot);
    }
    try {
      return slot.run(m);
    } finally {
      if (slot.dead) this.slots.delete(codeHash);
    }
  }

  private evict(): void {
    for (const [hash, s] of this.slots) {
      if (this.slots.size < MAX_SLOTS) return;
      if (!s.busy) this.slots.delete(hash);
    }
  }
}
