/**
 * Limits of sandboxed (TypeScript) contract calls. They are part of consensus: every node
 * must run with the same values, so changing one is a chain upgrade.
 */
export const LIMITS = {
  /**
   * QuickJS allocation limit of one call's runtime. The emscripten build accounts every
   * allocation at a fixed 8 bytes (it has no malloc_usable_size), so this bounds the size
   * of any single allocation and the number of live allocations (limit / 8), not a byte
   * total (a call's real usage can be several times this); `heapBytes` is the byte total.
   */
  memoryBytes: 8 * 1024 * 1024,
  /**
   * The whole sandbox heap: fixed WebAssembly linear memory, allocated once and never
   * grown. A call (with its nested calls) that exhausts it fails with OUT_OF_MEMORY.
   */
  heapBytes: 128 * 1024 * 1024,
  /** QuickJS stack of one call (the sandbox thread has a 64 MiB native stack). */
  stackBytes: 256 * 1024,
  /** Contracts on the call stack at once (a tx's target counts as 1). */
  callDepth: 8,
  /** Interrupt ticks of one tx (all nested calls together), whatever its gas limit. */
  ticksPerCall: 800,
  /** JSON bytes of a method's return value. */
  returnBytes: 64 * 1024,
  /** JSON bytes of the args of a tx or query to a contract. */
  argsBytes: 256 * 1024,
  /** JSON bytes of one stored value or of the args of a nested call. */
  valueBytes: 64 * 1024,
  /** Characters of a state key (and of a range prefix). */
  keyChars: 256,
  /** JSON bytes of one event's data. */
  eventBytes: 16 * 1024,
  /** Events of one tx (all nested calls together). */
  eventsPerCall: 256,
  /** Characters of an event name. */
  eventNameChars: 64,
  /** Rows one state.range returns at most. */
  rangeRows: 1000,
  /** Bytes of contract code. */
  codeBytes: 1024 * 1024,
  /** Characters of an error message kept in a receipt. */
  errorChars: 1000,
} as const;

/** User contract names: lower case, digits and underscore, 2..32 characters. */
export const CONTRACT_NAME = /^[a-z][a-z0-9_]{1,31}$/;

/** Method names a contract may export. */
export const METHOD_NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;

/** Event names a contract may emit. */
export const EVENT_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
