/** The node's p2p membership sync: trust, dial and drop decisions from chain configs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ChainConfig,
  ChainConfigSchema,
  create,
  ValidatorSetUpdateSchema,
} from '../../src/codec/index.ts';
import { certFromPem } from '../../src/crypto/x509.ts';
import {
  initialPeers,
  peerAllowed,
  syncMembership,
  trustedCas,
} from '../../src/node/membership-sync.ts';
import { createTlsCa } from '../../src/p2p/tls-certs.ts';

const ca = Object.fromEntries(['org1', 'org2', 'org3'].map((o) => [o, createTlsCa(o).certPem]));
const key = new Uint8Array(65);

function config(
  orgs: Array<[string, boolean]>,
  nodes: Array<[string, string, string]>,
  validators: string[] = [],
): ChainConfig {
  return create(ChainConfigSchema, {
    orgs: orgs.map(([id, tls]) => ({ id, tlsCaCert: tls ? certFromPem(ca[id]) : undefined })),
    nodes: nodes.map(([name, org, address]) => ({ name, org, publicKey: key, address })),
    validators: validators.map((name) => ({
      name,
      org: nodes.find((n) => n[0] === name)?.[1] ?? 'org1',
      publicKey: key,
      power: 1n,
    })),
  });
}

const info = (org: string) => ({ org, cn: '', fingerprint: '', caFingerprint: '' });

test('trust comes from the chain; node.json fills in only own org and members lacking a CA', () => {
  const c = config(
    [
      ['org1', true],
      ['org2', false],
    ],
    [],
  );
  const got = trustedCas(c, 'org3', [ca.org1, ca.org2, ca.org3, 'garbage']);
  assert.deepEqual(
    got.map((p) => p.trim()).sort(),
    [ca.org1, ca.org2, ca.org3].map((p) => p.trim()).sort(),
  );
  // org3 is neither a member nor us: its file CA is not trusted.
  assert.equal(trustedCas(c, 'org1', [ca.org3]).length, 1);
});

test('only member nodes (or current/pending validators) with a cert of their own org may connect', () => {
  const c = config([['org1', true]], [['node1', 'org1', '']]);
  assert.equal(peerAllowed(c, 'node1', info('org1')), true);
  assert.equal(peerAllowed(c, 'node1', info('org2')), false);
  assert.equal(peerAllowed(c, 'node9', info('org1')), false);
  c.pendingValidators = [
    create(ValidatorSetUpdateSchema, {
      height: 9n,
      validators: [{ name: 'node7', org: 'org1', publicKey: key, power: 1n }],
    }),
  ];
  assert.equal(peerAllowed(c, 'node7', info('org1')), true);
});

test('a config change dials new addresses, drops nodes that left, and rechecks', () => {
  const calls: string[] = [];
  const net = {
    setTrustedCas: (p: string[]) => calls.push(`cas ${p.length}`),
    addPeer: (p: { name: string; address: string }) => calls.push(`add ${p.name} ${p.address}`),
    removePeer: (n: string) => calls.push(`remove ${n}`),
    recheck: () => calls.push('recheck'),
  };
  const before = config(
    [
      ['org1', true],
      ['org2', true],
    ],
    [
      ['node1', 'org1', ''],
      ['node2', 'org2', '127.0.0.1:2'],
    ],
    ['node1', 'node2'],
  );
  const after = config(
    [
      ['org1', true],
      ['org3', true],
    ],
    [
      ['node1', 'org1', ''],
      ['node3', 'org3', '127.0.0.1:3'],
    ],
    ['node1'],
  );
  syncMembership(net, [before], [after], { name: 'node1', org: 'org1' }, []);
  assert.deepEqual(calls, ['cas 2', 'add node3 127.0.0.1:3', 'remove node2', 'recheck']);
  assert.deepEqual(initialPeers([after], 'node1', [{ name: 'node3', address: 'h:1' }]), [
    { name: 'node3', address: 'h:1' },
  ]);
  assert.deepEqual(initialPeers([after], 'node1', []), [{ name: 'node3', address: '127.0.0.1:3' }]);
});
