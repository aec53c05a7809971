/**
 * Where QuickJS's WebAssembly build keeps its state in linear memory, read from the module's
 * binary: emscripten lays it out as [static data + .bss][stack, growing down][heap, dlmalloc].
 * A warm slot (warm.ts) restores exactly the live parts of that layout after each call.
 */

/** The regions of the module's linear memory. */
export interface WasmLayout {
  /** Pages (64 KiB) the module asks its imported memory to have at least. */
  minPages: number;
  /** End of the initialized data segments. */
  dataEnd: number;
  /**
   * End of the static region to restore: the data segments, the .bss that emscripten puts
   * right after them, and a margin (the pinned build's .bss is 3 KiB).
   */
  staticEnd: number;
  /** Initial stack pointer: the stack grows down from here and the heap starts here. */
  stackTop: number;
}

/** Room assumed for .bss after the data segments (checked against the stack in wasmLayout). */
const BSS_MARGIN = 64 * 1024;

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new Error('truncated WebAssembly binary');
    return this.b[this.pos++];
  }
  u32(): number {
    let r = 0;
    for (let shift = 0; ; shift += 7) {
      const x = this.byte();
      r += (x & 0x7f) * 2 ** shift;
      if (!(x & 0x80)) return r;
    }
  }
  i32(): number {
    let r = 0;
    let shift = 0;
    let x: number;
    do {
      x = this.byte();
      r |= (x & 0x7f) << shift;
      shift += 7;
    } while (x & 0x80);
    if (shift < 32 && x & 0x40) r |= -1 << shift;
    return r;
  }
  skip(n: number): void {
    this.pos += n;
  }
  /** A constant expression `i32.const N end`. */
  constI32(what: string): number {
    if (this.byte() !== 0x41) throw new Error(`${what} is not an i32.const`);
    const v = this.i32();
    if (this.byte() !== 0x0b) throw new Error(`${what} is not a constant expression`);
    return v;
  }
}

/**
 * Read the layout of an emscripten build of QuickJS (imported memory, the stack pointer as
 * global 0, active data segments); throws when the binary is not shaped that way.
 */
export function wasmLayout(binary: Uint8Array): WasmLayout {
  const r = new Reader(binary);
  r.skip(8); // magic and version
  let minPages: number | undefined;
  let stackTop: number | undefined;
  let dataEnd = 0;
  while (r.pos < binary.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        r.skip(r.u32());
        r.skip(r.u32());
        const kind = r.byte();
        if (kind === 0) r.u32();
        else if (kind === 1) {
          r.byte();
          const flags = r.byte();
          r.u32();
          if (flags & 1) r.u32();
        } else if (kind === 2) {
          const flags = r.byte();
          minPages = r.u32();
          if (flags & 1) r.u32();
        } else if (kind === 3) r.skip(2);
        else throw new Error(`unknown import kind ${kind}`);
      }
    } else if (id === 6) {
      r.u32(); // count
      const type = r.byte();
      const mutable = r.byte();
      if (type !== 0x7f || mutable !== 1) throw new Error('global 0 is not the stack pointer');
      stackTop = r.constI32('the stack pointer');
    } else if (id === 11) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.u32() !== 0) throw new Error('only active data segments of memory 0 are expected');
        const offset = r.constI32('a data segment offset');
        const len = r.u32();
        r.skip(len);
        dataEnd = Math.max(dataEnd, offset + len);
      }
    }
    r.pos = end;
  }
  if (minPages === undefined || stackTop === undefined) {
    throw new Error('not an emscripten module with an imported memory and a stack pointer');
  }
  const staticEnd = Math.ceil((dataEnd + BSS_MARGIN) / 4096) * 4096;
  if (staticEnd >= stackTop) throw new Error('the static region reaches the stack');
  return { minPages, dataEnd, staticEnd, stackTop };
}
