/**
 * `archi contract build`: bundle a TypeScript contract with esbuild into the one JS module a
 * deploy carries: a strict function body ending in `return { method: fn, ... }` (the ES
 * module's exports). A contract may import only the contract API (`archipelago/contract`)
 * and its own relative files; any other import is refused with the file and line.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';
import { ArchiError } from '../../types/errors.ts';
import { LIMITS } from './limits.ts';

export const CONTRACT_API = 'archipelago/contract';
const API_FILE = fileURLToPath(new URL('../contract-api.ts', import.meta.url));

export interface BuildOptions {
  minify?: boolean;
}

export interface BuiltContract {
  file: string;
  code: string;
  bytes: number;
}

const importGuard: Plugin = {
  name: 'archipelago-contract-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.path === CONTRACT_API) return { path: API_FILE };
      if (args.path.startsWith('./') || args.path.startsWith('../')) return undefined;
      return {
        errors: [
          {
            text: `import "${args.path}" is not allowed: a contract may import only "${CONTRACT_API}" and its own relative files (no packages, no node: modules)`,
          },
        ],
      };
    });
  },
};

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Replace the bundle's final `export { a as b, c };` with `return { b: a, c: c };`. */
function exportsToReturn(esm: string, file: string): string {
  const m = /export\s*\{([^}]*)\}\s*;?\s*$/.exec(esm);
  if (!m)
    throw new ArchiError('CODE_INVALID', `${file} exports nothing: export the contract's methods`);
  const entries = m[1]
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      const [local, exported = local] = e.split(/\s+as\s+/);
      if (!IDENT.test(local) || !IDENT.test(exported)) {
        throw new ArchiError('CODE_INVALID', `${file}: cannot export ${JSON.stringify(e)}`);
      }
      return `${exported}: ${local}`;
    });
  const body = esm.slice(0, m.index).trimEnd();
  return `${body}\nreturn { ${entries.join(', ')} };\n`;
}

function describe(m: Message): string {
  const at = m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : '';
  return `${at}${m.text}`;
}

/** Bundle `file` into the code a deploy carries; throws CODE_INVALID with esbuild's first error. */
export async function buildContract(file: string, opts: BuildOptions = {}): Promise<BuiltContract> {
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new ArchiError('BAD_REQUEST', `no contract file at ${file}`);
  }
  let out: string;
  try {
    const r = await build({
      entryPoints: [path],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      charset: 'utf8',
      legalComments: 'none',
      minify: opts.minify === true,
      logLevel: 'silent',
      plugins: [importGuard],
    });
    out = exportsToReturn(r.outputFiles[0].text, file);
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (errors?.length) {
      throw new ArchiError('CODE_INVALID', `cannot build ${file}: ${describe(errors[0])}`);
    }
    throw new ArchiError('CODE_INVALID', `cannot build ${file}: ${(e as Error).message}`);
  }
  const bytes = Buffer.byteLength(out);
  if (bytes > LIMITS.codeBytes) {
    throw new ArchiError(
      'CODE_INVALID',
      `${file} bundles to ${bytes} bytes; contract code is limited to ${LIMITS.codeBytes}`,
    );
  }
  return { file: path, code: out, bytes };
}
