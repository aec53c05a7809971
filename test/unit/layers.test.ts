/**
 * The import rule of docs/ARCHITECTURE.md, checked on the sources: no import in src/ runs up
 * the layer table, the SDK and the console keep to what they may load, and src/ has no
 * import cycle. Type-only imports count: they tie the layers together just the same.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');

/** The folders of src/, lowest first; folders in one row sit beside each other. */
const LAYERS: string[][] = [
  ['errors'],
  ['crypto'],
  ['codec'],
  ['types'],
  ['storage', 'state'],
  ['vm'],
  ['app'],
  ['mempool'],
  ['chain'],
  ['consensus', 'p2p'],
  ['rpc'],
  // The EVM bridge's library (contract artifacts, encoders, ethers calls): a client of EVM
  // nodes that the relayer and the CLI use; it needs nothing above types and state/proof.
  ['evm'],
  // The gateway and the relayer are processes of their own in front of the nodes: they reach
  // them through the SDK and never import node/, nor node/ them, nor each other. The reference
  // apps' framework and off-chain parts (apps/) are clients of the chains in the same way.
  ['node', 'gateway', 'relayer', 'apps'],
  ['cli'],
];

/** Imports between folders of one row that the table allows, with the reason. */
const SIDEWAYS: Record<string, string> = {
  'consensus -> p2p': 'consensus talks to peers through the p2p interface (the table says so)',
};

/** Imports the order alone would allow but the table rules out, with the reason. */
const FORBIDDEN: Record<string, string> = {
  'chain -> vm': 'the chain reaches contract code only through the executor (app/)',
};

/** What the SDK may load: it ships to clients, so nothing of the node comes with it. */
const SDK_MAY_IMPORT = ['errors', 'crypto', 'codec', 'types', 'state/proof.ts'];
/** Who may import the SDK. */
const SDK_IMPORTERS = ['cli', 'gateway', 'relayer', 'apps'];
/**
 * The modules of src/ that the browser console loads. Each runs in a browser: it imports only
 * modules of this list (and npm packages made for browsers, such as protobuf-es), no `node:`
 * builtin, and uses no `Buffer`.
 */
const CONSOLE_MAY_IMPORT = [
  'state/proof.ts',
  'types/rpc-json.ts',
  'types/governance.ts',
  'apps/canonical-json.ts',
  'apps/idcode/rules.ts',
  'apps/trace/rules.ts',
  'apps/cbdc/rules.ts',
  'apps/datashare/rules.ts',
  'apps/iot/rules.ts',
  // Headers, votes and validator sets, decoded and encoded as the chain does (IoT proofs).
  'codec/index.ts',
  'codec/merkle.ts',
  'codec/gen/archipelago/v1/chain_pb.ts',
  'codec/gen/archipelago/v1/consensus_pb.ts',
  'codec/gen/archipelago/v1/p2p_pb.ts',
  'errors/index.ts',
  'crypto/sha256-portable.ts',
];

const RANK = new Map(LAYERS.flatMap((row, i) => row.map((l) => [l, i] as const)));

// A static import or re-export at the start of a line (after `;` too), type-only included,
// and a dynamic import of a literal path.
const STATIC = /(?:^|;)[ \t]*(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"]([^'"\n]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g;

function sourceFiles(dir: string, test: (name: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, test, out);
    else if (test(name)) out.push(p);
  }
  return out;
}

/** Relative specifiers a file imports, resolved to absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(STATIC), ...text.matchAll(DYNAMIC)].map((m) => m[1]);
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

/** `src/a/b.ts` -> `a/b.ts`, with forward slashes. */
const srcPath = (abs: string): string => relative(SRC, abs).split(sep).join('/');
const folderOf = (abs: string): string => srcPath(abs).split('/')[0];

const isSource = (name: string): boolean => /\.(ts|mts|mjs)$/.test(name) && !name.endsWith('.d.ts');
const files = sourceFiles(SRC, isSource);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every import in src/ resolves to a file in src/', () => {
  const bad: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (!existsSync(to) || statSync(to).isDirectory()) bad.push(`${srcPath(from)}: ${to}`);
      else if (relative(SRC, to).startsWith('..')) bad.push(`${srcPath(from)} -> outside src/`);
    }
  }
  assert.deepEqual(bad, [], 'imports this test cannot place (fix the import or the scanner)');
});

test('every folder of src/ has a row in the layer table', () => {
  const folders = new Set(files.map(folderOf));
  const missing = [...folders].filter((f) => !RANK.has(f) && f !== 'sdk');
  assert.deepEqual(missing, [], 'add the folder to LAYERS here and to docs/ARCHITECTURE.md');
});

test('no import in src/ runs up the layers', () => {
  const bad: string[] = [];
  for (const [from, targets] of graph) {
    const a = folderOf(from);
    for (const to of targets) {
      const b = folderOf(to);
      if (a === b) continue;
      const edge = `${srcPath(from)} -> ${srcPath(to)}`;
      if (a === 'sdk') {
        const ok = SDK_MAY_IMPORT.some((p) => srcPath(to) === p || b === p);
        if (!ok) bad.push(`${edge} (the SDK loads only ${SDK_MAY_IMPORT.join(', ')})`);
        continue;
      }
      if (b === 'sdk') {
        if (!SDK_IMPORTERS.includes(a)) bad.push(`${edge} (only ${SDK_IMPORTERS} use the SDK)`);
        continue;
      }
      const ra = RANK.get(a);
      const rb = RANK.get(b);
      if (ra === undefined || rb === undefined) continue; // reported by the test above
      if (rb > ra) bad.push(`${edge} (${a} is below ${b})`);
      else if (FORBIDDEN[`${a} -> ${b}`]) bad.push(`${edge} (${FORBIDDEN[`${a} -> ${b}`]})`);
      else if (rb === ra && !SIDEWAYS[`${a} -> ${b}`]) bad.push(`${edge} (${a} sits beside ${b})`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the console loads from src/ only modules made for browsers, which import only each other', () => {
  const consoleSrc = join(ROOT, 'console', 'src');
  const bad: string[] = [];
  const sources = sourceFiles(consoleSrc, (n) => /\.tsx?$/.test(n) && !/\.test\.tsx?$/.test(n));
  for (const file of sources) {
    for (const to of importsOf(file)) {
      if (relative(SRC, to).startsWith('..')) continue;
      if (!CONSOLE_MAY_IMPORT.includes(srcPath(to))) {
        bad.push(`console/${relative(consoleSrc, file)} -> src/${srcPath(to)}`);
      }
    }
  }
  for (const p of CONSOLE_MAY_IMPORT) {
    const own = graph.get(join(SRC, p));
    assert.ok(own, `${p} is missing`);
    for (const to of own) {
      if (!CONSOLE_MAY_IMPORT.includes(srcPath(to))) {
        bad.push(`src/${p} -> src/${srcPath(to)} (the console loads it)`);
      }
    }
    const text = readFileSync(join(SRC, p), 'utf8');
    if (/from\s*['"]node:|\bBuffer\b/.test(text)) {
      bad.push(`src/${p} uses node:* or Buffer (the console loads it)`);
    }
  }
  assert.deepEqual(bad, []);
});

test('src/ has no import cycle', () => {
  const cycles: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (f: string): void => {
    path.push(f);
    onPath.add(f);
    for (const to of graph.get(f) ?? []) {
      if (onPath.has(to)) {
        const loop = [...path.slice(path.indexOf(to)), to];
        cycles.push(loop.map(srcPath).join(' -> '));
      } else if (!done.has(to) && graph.has(to)) visit(to);
    }
    path.pop();
    onPath.delete(f);
    done.add(f);
  };
  for (const f of graph.keys()) if (!done.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});

test('the scanner sees the import forms the sources use', () => {
  const sample = [
    "import { a } from './a.ts';",
    "import type { B } from './b.ts';",
    'import {\n  type C,\n  d,\n} from "./c.ts";',
    "export { e } from './e.ts';",
    "export type { F } from './f.ts';",
    "export * from './g.ts';",
    "import './h.ts';",
    "const w = await import('./i.ts');",
    'const s = \'import x from "./not-an-import.ts"\';',
  ].join('\n');
  const found = [...sample.matchAll(STATIC), ...sample.matchAll(DYNAMIC)].map((m) => m[1]);
  assert.deepEqual(found.sort(), [
    './a.ts',
    './b.ts',
    './c.ts',
    './e.ts',
    './f.ts',
    './g.ts',
    './h.ts',
    './i.ts',
  ]);
});
