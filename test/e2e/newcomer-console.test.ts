/**
 * `archi up` serves the web console on the same port every time it starts a network
 * directory: the port is chosen once and kept in DIR/console.json.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ReadmeWorkspace } from './readme-harness.ts';

let ws: ReadmeWorkspace;
before(() => {
  ws = new ReadmeWorkspace();
});
after(() => ws.close());

test('two starts of archi up on one directory give the same console URL', async () => {
  const consoleUrl = (out: string) => /^ {2}console (http\S+)$/m.exec(out)?.[1];
  const first = consoleUrl(await ws.startUp(['--nodes', '1']));
  assert.ok(first, 'the console is served');
  const kept = JSON.parse(readFileSync(join(ws.networkDir, 'console.json'), 'utf8'));
  assert.equal(`http://127.0.0.1:${kept.port}`, first);
  await ws.stopUp();
  const second = consoleUrl(await ws.startUp(['--nodes', '1']));
  assert.equal(second, first);
  const network = JSON.parse(readFileSync(join(ws.networkDir, 'network.json'), 'utf8'));
  assert.equal(network.console, first);
});
