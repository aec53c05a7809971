/**
 * AdmissionWatch: a node the chain does not list says at once, and then every interval,
 * that it waits for a governance vote; once a config lists it, it says so once and stops.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { type ChainConfig, ChainConfigSchema, create } from '../../src/codec/index.ts';
import { AdmissionWatch, admissionMessage, isMember } from '../../src/node/membership-sync.ts';

const key = new Uint8Array(65);
const config = (nodes: Array<[string, string]>): ChainConfig =>
  create(ChainConfigSchema, {
    nodes: nodes.map(([name, org]) => ({ name, org, publicKey: key, address: '' })),
    validators: [{ name: 'node1', org: 'org1', publicKey: key, power: 1n }],
  });

class FakeChain extends EventEmitter {
  chainId = 'c1';
  height = 0;
  constructor(public config: ChainConfig) {
    super();
  }
}

function logger() {
  const lines: Array<[string, string]> = [];
  return {
    lines,
    warn: (_o: object, msg: string) => lines.push(['warn', msg]),
    info: (_o: object, msg: string) => lines.push(['info', msg]),
  };
}

const self = { name: 'node5', org: 'org5' };

test('membership: listed by its own org, as a node or a validator', () => {
  assert.equal(isMember(config([]), { name: 'node1', org: 'org1' }), true);
  assert.equal(isMember(config([['node5', 'org5']]), self), true);
  assert.equal(isMember(config([['node5', 'org9']]), self), false);
  assert.equal(isMember(config([]), self), false);
});

test('a member says nothing', () => {
  const chain = new FakeChain(config([['node5', 'org5']]));
  const log = logger();
  const w = new AdmissionWatch(chain, self, log, 10);
  assert.equal(w.waiting, false);
  assert.deepEqual(log.lines, []);
  assert.equal(chain.listenerCount('config'), 0);
  w.stop();
});

test('a waiting node says so now and again, then once that it is admitted', async () => {
  const chain = new FakeChain(config([]));
  const log = logger();
  const w = new AdmissionWatch(chain, self, log, 20);
  const waiting = admissionMessage('c1', self);
  assert.equal(
    waiting,
    'waiting for admission: this node is not yet a member of chain c1; a governance vote must admit org5/node5 (see docs/GOVERNANCE.md)',
  );
  assert.deepEqual(log.lines, [['warn', waiting]]);
  assert.equal(w.waiting, true);
  await new Promise((r) => setTimeout(r, 110));
  const reminders = log.lines.length;
  assert.ok(reminders >= 3, `reminded ${reminders} times`);
  assert.ok(log.lines.every(([level, msg]) => level === 'warn' && msg === waiting));

  // A config change that does not list it changes nothing; one that does ends the watch.
  chain.emit('config', config([['node6', 'org5']]));
  assert.equal(log.lines.at(-1)?.[1], waiting);
  chain.config = config([['node5', 'org5']]);
  chain.height = 42;
  chain.emit('config', chain.config);
  assert.deepEqual(log.lines.at(-1), ['info', 'admitted: org5/node5 is a member of chain c1']);
  assert.equal(w.waiting, false);
  assert.equal(chain.listenerCount('config'), 0);
  const after = log.lines.length;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(log.lines.length, after, 'no reminders after admission');
});
