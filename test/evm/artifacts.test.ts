/**
 * The committed EVM artifacts are what the Solidity sources compile to: a fresh solc-js build
 * (the pinned compiler, imports from node_modules, no network) gives byte-identical files, so a
 * source changed without `node --import tsx src/evm/compile.ts` fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ARTIFACTS_DIR,
  artifactText,
  compileContracts,
  DEPLOYED,
  SOLC_VERSION,
} from '../../src/evm/compile.ts';

test('recompiling contracts/evm gives the committed artifacts byte for byte', () => {
  const fresh = compileContracts();
  for (const name of DEPLOYED) {
    const committed = readFileSync(join(ARTIFACTS_DIR, `${name}.json`), 'utf8');
    assert.ok(fresh[name].compiler.startsWith(`${SOLC_VERSION}+`));
    assert.ok(fresh[name].bytecode.length > 2, `${name} has bytecode`);
    assert.equal(
      artifactText(fresh[name]),
      committed,
      `src/evm/artifacts/${name}.json is stale: run node --import tsx src/evm/compile.ts`,
    );
  }
});
