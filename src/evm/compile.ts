/**
 * Compiles contracts/evm/*.sol with solc-js (the `solc` npm package, a pinned compiler in
 * WebAssembly) into the artifacts under src/evm/artifacts/: ABI and creation bytecode per
 * contract, committed, so deploying needs no compiler and nothing is downloaded at run time.
 * `node --import tsx src/evm/compile.ts` rewrites them; test/evm/artifacts.test.ts fails when
 * they differ from a fresh compile of the sources.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the Solidity sources live, relative to the repository. */
export const SOURCES_DIR = 'contracts/evm';
/** Where the committed artifacts live. */
export const ARTIFACTS_DIR = join(ROOT, 'src', 'evm', 'artifacts');
/** The compiler version the artifacts must come from (package.json pins solc to it). */
export const SOLC_VERSION = '0.8.37';
/** The contracts deployed by the library; the others are libraries inlined into them. */
export const DEPLOYED = ['ArchipelagoLightClient', 'ArchipelagoBridge', 'BridgedToken'] as const;

export type ContractName = (typeof DEPLOYED)[number];

/** A compiled contract as committed under src/evm/artifacts/. */
export interface Artifact {
  contractName: string;
  sourceName: string;
  compiler: string;
  abi: unknown[];
  bytecode: string;
}

interface SolcOutput {
  errors?: Array<{ severity: string; formattedMessage: string }>;
  contracts: Record<
    string,
    Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>
  >;
}

/**
 * Settings fixed here so every machine compiles the same bytes: optimizer on, Prague EVM (the
 * Osaka node runs it; Osaka adds only the precompile we call by address), no metadata hash
 * appended (it would tie the bytes to absolute details of the build, not to the sources).
 */
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  viaIR: true,
  evmVersion: 'prague',
  metadata: { appendCBOR: false },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
};

/** Loads an import (`@openzeppelin/...` from node_modules, ours from the repository); no network. */
function findImport(path: string): { contents: string } | { error: string } {
  const require = createRequire(join(ROOT, 'package.json'));
  try {
    const file = path.startsWith('@') ? require.resolve(path) : join(ROOT, path);
    return { contents: readFileSync(file, 'utf8') };
  } catch (e) {
    return { error: `cannot resolve import ${path}: ${(e as Error).message}` };
  }
}

/** Compiles the sources and returns an artifact per deployed contract; throws on any error. */
export function compileContracts(): Record<ContractName, Artifact> {
  const require = createRequire(import.meta.url);
  const solc = require('solc') as {
    version(): string;
    compile(input: string, opts: { import: typeof findImport }): string;
  };
  const version = solc.version();
  if (!version.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`solc ${version} is installed; the artifacts are built with ${SOLC_VERSION}`);
  }
  const sources: Record<string, { content: string }> = {};
  for (const name of readdirSync(join(ROOT, SOURCES_DIR)).sort()) {
    if (!name.endsWith('.sol')) continue;
    sources[`${SOURCES_DIR}/${name}`] = {
      content: readFileSync(join(ROOT, SOURCES_DIR, name), 'utf8'),
    };
  }
  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput;
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const result = {} as Record<ContractName, Artifact>;
  for (const name of DEPLOYED) {
    const sourceName = `${SOURCES_DIR}/${name}.sol`;
    const c = out.contracts[sourceName]?.[name];
    if (!c) throw new Error(`${sourceName} does not define ${name}`);
    result[name] = {
      contractName: name,
      sourceName,
      compiler: version,
      abi: c.abi,
      bytecode: `0x${c.evm.bytecode.object}`,
    };
  }
  return result;
}

/** The text an artifact is committed as (one form, so a fresh compile compares byte for byte). */
export function artifactText(a: Artifact): string {
  return `${JSON.stringify(a, null, 2)}\n`;
}

/** Writes the artifacts of a fresh compile; returns the files written. */
export function writeArtifacts(): string[] {
  const all = compileContracts();
  return DEPLOYED.map((name) => {
    const file = join(ARTIFACTS_DIR, `${name}.json`);
    writeFileSync(file, artifactText(all[name]));
    return file;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const f of writeArtifacts()) console.log(`wrote ${f}`);
}
