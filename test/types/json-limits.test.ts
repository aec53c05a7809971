/** JSON_LIMITS: measured without recursion, the same count for text and values, at and around each limit. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { ArchiError } from '../../src/types/errors.ts';
import {
  checkJsonText,
  checkJsonValue,
  JSON_LIMITS,
  jsonBytes,
  parseJsonBytes,
  parseJsonText,
  utf8Bytes,
} from '../../src/types/json.ts';

const D = JSON_LIMITS.depth;
const E = JSON_LIMITS.elements;

const nestedText = (n: number, open = '[', close = ']') => open.repeat(n) + close.repeat(n);
function nestedValue(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

function code(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof ArchiError, `not an ArchiError: ${(e as Error).message}`);
    return e.code;
  }
}

/** Count values as the limits define them, recursively (test oracle; small inputs only). */
function countValues(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 1;
  return (
    1 + (Array.isArray(v) ? v : Object.values(v)).reduce<number>((s, c) => s + countValues(c), 0)
  );
}

/** A small seeded PRNG so a failure names its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomJson(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth <= 0 || r < 0.3) {
    const pick = Math.floor(rand() * 6);
    return [null, true, Math.floor(rand() * 1000) - 500, 'str"[{,:}]\\', '\u2028é😀', ''][pick];
  }
  const n = Math.floor(rand() * 5);
  if (r < 0.65) return Array.from({ length: n }, () => randomJson(rand, depth - 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) o[`k${i}:,[{"`] = randomJson(rand, depth - 1);
  return o;
}

describe('JSON limits', () => {
  test('depth: text and values at the limit pass, one more is refused with the kind’s code', () => {
    for (const [o, c] of [
      ['[', ']'],
      ['{"a":', '}'],
    ]) {
      const at = o.repeat(D) + (o === '[' ? '' : '1') + c.repeat(D);
      const over = o.repeat(D + 1) + (o === '[' ? '' : '1') + c.repeat(D + 1);
      assert.equal(
        code(() => checkJsonText(at, 'args', 'args')),
        undefined,
      );
      assert.equal(
        code(() => checkJsonText(over, 'args', 'args')),
        'ARGS_TOO_DEEP',
      );
      assert.equal(
        code(() => checkJsonText(over, 'value', 'v')),
        'VALUE_TOO_DEEP',
      );
      assert.equal(
        code(() => parseJsonText(over)),
        'ARGS_TOO_DEEP',
      );
    }
    assert.equal(
      code(() => checkJsonValue(nestedValue(D), 'value', 'v')),
      undefined,
    );
    assert.equal(
      code(() => checkJsonValue(nestedValue(D + 1), 'value', 'v')),
      'VALUE_TOO_DEEP',
    );
    assert.equal(
      code(() => jsonBytes(nestedValue(D + 1))),
      'VALUE_TOO_DEEP',
    );
    assert.equal(
      code(() => jsonBytes(nestedValue(D + 1), 'args')),
      'ARGS_TOO_DEEP',
    );
  });

  test('depth far past any stack: 1,000,000 levels are refused, not overflowed', () => {
    const text = nestedText(1_000_000);
    assert.equal(
      code(() => parseJsonBytes(utf8Bytes(text))),
      'ARGS_TOO_DEEP',
    );
    // A value built without JSON (a native contract's result) is walked iteratively too.
    assert.equal(
      code(() => jsonBytes(nestedValue(1_000_000))),
      'VALUE_TOO_DEEP',
    );
  });

  test('brackets inside strings and escapes do not count', () => {
    const s = JSON.stringify({ a: '['.repeat(10_000), b: '\\"[[[', c: ['\\', '"{'] });
    assert.equal(
      code(() => checkJsonText(s, 'args', 'args')),
      undefined,
    );
    assert.deepEqual(parseJsonText(s), JSON.parse(s));
  });

  test('elements: exactly the limit passes, one more is refused, text and value alike', () => {
    const at = new Array(E - 1).fill(0);
    const over = new Array(E).fill(0);
    assert.equal(
      code(() => checkJsonValue(at, 'args', 'a')),
      undefined,
    );
    assert.equal(
      code(() => checkJsonText(JSON.stringify(at), 'args', 'a')),
      undefined,
    );
    assert.equal(
      code(() => checkJsonValue(over, 'args', 'a')),
      'ARGS_TOO_LARGE',
    );
    assert.equal(
      code(() => checkJsonText(JSON.stringify(over), 'args', 'a')),
      'ARGS_TOO_LARGE',
    );
    const obj = Object.fromEntries(at.map((_, i) => [`k${i}`, i]));
    assert.equal(
      code(() => checkJsonText(JSON.stringify(obj), 'value', 'o')),
      undefined,
    );
    obj.extra = 1;
    assert.equal(
      code(() => checkJsonValue(obj, 'value', 'o')),
      'VALUE_TOO_LARGE',
    );
    assert.equal(
      code(() => checkJsonText(JSON.stringify(obj), 'value', 'o')),
      'VALUE_TOO_LARGE',
    );
  });

  test('a cyclic value ends at the element limit', () => {
    const a: unknown[] = [];
    a.push(a);
    assert.match(String(code(() => checkJsonValue(a, 'value', 'v'))), /VALUE_TOO_(DEEP|LARGE)/);
  });

  test('text and value counts agree on random documents (seeded)', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const v = randomJson(prng(seed), 8);
      const n = countValues(v);
      const text = JSON.stringify(v, null, seed % 3 === 0 ? 2 : undefined);
      assert.equal(checkJsonText(text, 'value', 'v'), n, `seed ${seed}: text count`);
      assert.equal(checkJsonValue(v, 'value', 'v'), n, `seed ${seed}: value count`);
    }
  });

  test('invalid JSON is left to the parser: INVALID_ARGS, never a crash', () => {
    for (const t of ['[', ']]]]', '{"a":', '"unterminated', '[1,,2]', '{:}', '\\', '']) {
      assert.doesNotThrow(() => checkJsonText(t, 'args', 'a'), t);
    }
    assert.equal(
      code(() => parseJsonText('[1,,2]')),
      'INVALID_ARGS',
    );
    assert.equal(
      code(() => parseJsonBytes(new Uint8Array([0xff]))),
      'INVALID_ARGS',
    );
  });

  test('the same answers under a 100 KiB stack as under a 3.9 MiB one', () => {
    const script = `
      import { parseJsonText, jsonBytes } from './src/types/json.ts';
      const out = [];
      for (const n of [64, 65, 5000, 200000]) {
        const t = '['.repeat(n) + ']'.repeat(n);
        try { parseJsonText(t); out.push('ok'); } catch (e) { out.push(e.code ?? e.message); }
        let v = 0; for (let i = 0; i < n; i++) v = [v];
        try { jsonBytes(v); out.push('ok'); } catch (e) { out.push(e.code ?? e.message); }
      }
      console.log(JSON.stringify(out));`;
    const run = (stack: number) => {
      const r = spawnSync(
        process.execPath,
        [`--stack-size=${stack}`, '--import', 'tsx', '--input-type=module', '-e', script],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    };
    const small = run(100);
    assert.deepEqual(small, run(3900));
    assert.deepEqual(small, [
      'ok',
      'ok',
      'ARGS_TOO_DEEP',
      'VALUE_TOO_DEEP',
      'ARGS_TOO_DEEP',
      'VALUE_TOO_DEEP',
      'ARGS_TOO_DEEP',
      'VALUE_TOO_DEEP',
    ]);
  });
});
