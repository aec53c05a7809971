/**
 * The `org_keys` native contract on its own: register, revoke and list against a stored chain
 * config in a map-backed context (as the executor gives it: contract-scoped keys, derive for
 * `chain_config`), with every refusal and its code. test/unit/org-keys.test.ts runs it on a chain.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChainConfig } from '../../src/codec/index.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import { validateGenesis, genesisToConfig } from '../../src/types/genesis.ts';
import { hex } from '../../src/types/hex.ts';
import { type CallContext, newFrame, type SenderInfo } from '../../src/vm/context.ts';
import { CONFIG_KEY, decodeConfig, encodeConfig } from '../../src/vm/native/chain-config.ts';
import { NATIVE_NAMES } from '../../src/vm/native/governance.ts';
import { MAX_ORG_KEYS } from '../../src/vm/native/membership.ts';
import { ORG_KEYS_CONTRACT, orgKeysContract } from '../../src/vm/native/org-keys.ts';
import { contractSender } from '../../src/vm/sandbox/meta.ts';

const profile = getProfile('standard');
const pk = () => hex(profile.generateKeyPair().publicKey);
const keys = {
  admin1: pk(),
  client1: pk(),
  admin2: pk(),
  node1: pk(),
};

/** A key-mode config; `cert` flips the mode only (register must look at nothing else). */
function config(identityMode: 'key' | 'cert' = 'key'): ChainConfig {
  const g = validateGenesis({
    chainId: 'unit',
    genesisTime: 1_700_000_000_000,
    crypto: 'standard',
    identityMode: 'key',
    consensus: 'solo',
    orgs: [
      {
        id: 'org1',
        keys: [
          { name: 'admin', role: 'admin', publicKey: keys.admin1 },
          { name: 'client', role: 'client', publicKey: keys.client1 },
          { name: 'node1', role: 'consensus', publicKey: keys.node1 },
        ],
      },
      { id: 'org2', keys: [{ name: 'admin', role: 'admin', publicKey: keys.admin2 }] },
    ],
    validators: [{ name: 'node1', org: 'org1', publicKey: keys.node1, power: 1 }],
  });
  return { ...genesisToConfig(g), identityMode };
}

const who = (org: string, role: SenderInfo['role']): SenderInfo => ({
  org,
  role,
  id: 'a'.repeat(40),
  name: role,
});
const admin1 = who('org1', 'admin');
const admin2 = who('org2', 'admin');
const client1 = who('org1', 'client');

/** A chain's state as the contract sees it: the stored config, events, one block's config. */
function world(start = config()) {
  const state = new Map<string, Uint8Array>([[`chain_config/${CONFIG_KEY}`, encodeConfig(start)]]);
  const events: Array<{ contract: string; name: string; data: unknown }> = [];
  const ctx = (contract: string, sender: SenderInfo, readOnly: boolean): CallContext => ({
    contract,
    sender,
    block: { height: 7, time: 0 },
    txId: 'ab'.repeat(32),
    config: start,
    readOnly,
    get: (k) => state.get(`${contract}/${k}`),
    set(k, v) {
      if (readOnly) throw new Error('read-only');
      state.set(`${contract}/${k}`, v);
    },
    delete(k) {
      state.delete(`${contract}/${k}`);
    },
    range: () => [],
    emit: (name, data) => events.push({ contract, name, data }),
    gas: () => {},
    derive: (c, s) => ctx(c, s, readOnly),
    // org_keys calls no contract and opens no savepoint.
    frame: newFrame(),
    call: () => assert.fail('org_keys calls no contract'),
    savepoint: () => assert.fail('org_keys opens no savepoint'),
  });
  return {
    state,
    events,
    blockConfig: start,
    stored: () => decodeConfig(state.get(`chain_config/${CONFIG_KEY}`)!),
    call: (sender: SenderInfo, method: string, args: unknown) => {
      const m = orgKeysContract.methods[method];
      return m.run(ctx(ORG_KEYS_CONTRACT, sender, !m.write), args);
    },
  };
}

const orgKeys = (c: ChainConfig, org: string) =>
  c.orgs.find((o) => o.id === org)!.keys.map((k) => [k.name, k.role, hex(k.publicKey)]);

function refused(fn: () => unknown, code: string, why?: RegExp): void {
  assert.throws(fn, (e: any) => {
    assert.equal(e.code, code, e.message);
    if (why) assert.match(e.message, why);
    return true;
  });
}

describe('org_keys native contract', () => {
  test('is a registered native name with register/revoke (write) and list (read)', () => {
    assert.ok(NATIVE_NAMES.has('org_keys'));
    assert.equal(orgKeysContract.name, 'org_keys');
    assert.deepEqual(
      Object.entries(orgKeysContract.methods).map(([n, m]) => [n, m.write]),
      [
        ['register', true],
        ['revoke', true],
        ['list', false],
      ],
    );
  });

  test('register adds a client key to the admin own org, in the stored config only', () => {
    const w = world();
    const key = pk();
    const out = w.call(admin1, 'register', {
      name: 'app-1',
      role: 'client',
      publicKey: `0x${key.toUpperCase()}`,
    });
    assert.deepEqual(out, { org: 'org1', name: 'app-1', role: 'client', publicKey: key });
    assert.deepEqual(orgKeys(w.stored(), 'org1').at(-1), ['app-1', 'client', key]);
    assert.equal(orgKeys(w.stored(), 'org1').length, 4);
    assert.deepEqual(orgKeys(w.stored(), 'org2'), orgKeys(w.blockConfig, 'org2'));
    // The block's own config is untouched: senders resolve against it until the next block.
    assert.equal(orgKeys(w.blockConfig, 'org1').length, 3);
    assert.deepEqual(w.events, [{ contract: 'org_keys', name: 'key_registered', data: out }]);
    // Common keys too; list shows both in config order.
    const k2 = pk();
    w.call(admin2, 'register', { name: 'svc', role: 'common', publicKey: k2 });
    assert.deepEqual(w.call(client1, 'list', { org: 'org2' }), [
      { org: 'org2', name: 'admin', role: 'admin', publicKey: keys.admin2 },
      { org: 'org2', name: 'svc', role: 'common', publicKey: k2 },
    ]);
  });

  test('register refusals', () => {
    const w = world();
    const taken = pk();
    w.call(admin1, 'register', { name: 'taken', role: 'client', publicKey: taken });
    const ok = { name: 'new', role: 'client', publicKey: pk() };
    const cases: Array<[SenderInfo, unknown, string, RegExp]> = [
      [client1, ok, 'TX_FORBIDDEN', /only an organization admin may register keys/],
      [who('org1', 'common'), ok, 'TX_FORBIDDEN', /sender role is common/],
      [who('org1', 'consensus'), ok, 'TX_FORBIDDEN', /admin/],
      // A sandboxed contract calls in as a common sender of no org.
      [contractSender(w.blockConfig, 'evil'), ok, 'TX_FORBIDDEN', /admin/],
      [admin1, { ...ok, role: 'admin' }, 'INVALID_ARGS', /client or common.*governance/],
      [admin1, { ...ok, role: 'consensus' }, 'INVALID_ARGS', /client or common/],
      [admin1, { ...ok, role: 'boss' }, 'INVALID_ARGS', /client or common/],
      [admin1, { name: 'new', publicKey: ok.publicKey }, 'INVALID_ARGS', /role must be/],
      [admin1, { ...ok, publicKey: taken }, 'INVALID_ARGS', /already registered as org1\/taken/],
      [admin2, { ...ok, publicKey: taken }, 'INVALID_ARGS', /already registered as org1\/taken/],
      [admin2, { ...ok, publicKey: keys.admin1 }, 'INVALID_ARGS', /registered as org1\/admin/],
      [admin1, { ...ok, name: 'taken' }, 'INVALID_ARGS', /org1 already has a key named taken/],
      [admin1, { ...ok, name: 'admin' }, 'INVALID_ARGS', /already has a key named admin/],
      [admin1, { ...ok, name: 'a b' }, 'INVALID_ARGS', /name must be 1-64/],
      [admin1, { ...ok, name: '' }, 'INVALID_ARGS', /name must be 1-64/],
      [admin1, { ...ok, publicKey: '04ab' }, 'INVALID_ARGS', /65-byte/],
      [admin1, { ...ok, publicKey: `04${'11'.repeat(64)}` }, 'INVALID_ARGS', /not a point/],
      [admin1, { ...ok, publicKey: 'zz' }, 'INVALID_ARGS', /hex of an uncompressed/],
      [admin1, { ...ok, publicKey: 7 }, 'INVALID_ARGS', /publicKey must be a 65-byte/],
      [admin1, { ...ok, org: 'org2' }, 'INVALID_ARGS', /unknown field "org"/],
      [admin1, null, 'INVALID_ARGS', /args must be a JSON object/],
      [admin1, [ok], 'INVALID_ARGS', /args must be a JSON object/],
    ];
    const before = w.state.get(`chain_config/${CONFIG_KEY}`);
    for (const [sender, args, code, why] of cases) {
      refused(() => w.call(sender, 'register', args), code, why);
    }
    assert.equal(w.state.get(`chain_config/${CONFIG_KEY}`), before, 'nothing was written');
    assert.equal(w.events.length, 1);
  });

  test("a node's consensus key cannot be registered, even if no org lists it", () => {
    const c = config();
    c.orgs[0].keys = c.orgs[0].keys.filter((k) => k.name !== 'node1');
    const w = world(c);
    refused(
      () => w.call(admin1, 'register', { name: 'x', role: 'client', publicKey: keys.node1 }),
      'INVALID_ARGS',
      /consensus key of node node1/,
    );
  });

  test('on a cert-mode chain register and revoke point to certificates', () => {
    const w = world(config('cert'));
    const why = /key-mode chains only; this chain is in cert mode.*CA issues member certificates/;
    refused(
      () => w.call(admin1, 'register', { name: 'x', role: 'client', publicKey: pk() }),
      'INVALID_ARGS',
      why,
    );
    refused(() => w.call(admin1, 'revoke', { publicKey: keys.client1 }), 'INVALID_ARGS', why);
    // The permission check comes first, as in governance.
    refused(
      () => w.call(client1, 'register', { name: 'x', role: 'client', publicKey: pk() }),
      'TX_FORBIDDEN',
    );
  });

  test(`an organization holds at most ${MAX_ORG_KEYS} keys`, () => {
    const w = world();
    // org1 starts with 3; fill it up.
    for (let i = 3; i < MAX_ORG_KEYS; i++) {
      w.call(admin1, 'register', { name: `k${i}`, role: 'client', publicKey: pk() });
    }
    assert.equal(w.stored().orgs[0].keys.length, MAX_ORG_KEYS);
    refused(
      () => w.call(admin1, 'register', { name: 'one-more', role: 'client', publicKey: pk() }),
      'INVALID_ARGS',
      new RegExp(`org1 already holds ${MAX_ORG_KEYS} keys.*revoke one first`),
    );
    // Other orgs are not affected, and a revoke makes room.
    w.call(admin2, 'register', { name: 'k', role: 'client', publicKey: pk() });
    w.call(admin1, 'revoke', { publicKey: keys.client1 });
    w.call(admin1, 'register', { name: 'one-more', role: 'client', publicKey: pk() });
  });

  test('revoke removes a client or common key of the admin own org', () => {
    const w = world();
    const k = pk();
    w.call(admin1, 'register', { name: 'app', role: 'common', publicKey: k });
    const out = w.call(admin1, 'revoke', { publicKey: keys.client1 });
    assert.deepEqual(out, {
      org: 'org1',
      name: 'client',
      role: 'client',
      publicKey: keys.client1,
    });
    assert.deepEqual(
      orgKeys(w.stored(), 'org1').map(([n]) => n),
      ['admin', 'node1', 'app'],
    );
    assert.deepEqual(w.events.at(-1), { contract: 'org_keys', name: 'key_revoked', data: out });
    w.call(admin1, 'revoke', { publicKey: k.toUpperCase() });
    assert.deepEqual(
      orgKeys(w.stored(), 'org1').map(([n]) => n),
      ['admin', 'node1'],
    );
    // Once revoked, the key can be registered again (under any free name).
    w.call(admin2, 'register', { name: 'moved', role: 'client', publicKey: k });
    assert.deepEqual(orgKeys(w.stored(), 'org2').at(-1), ['moved', 'client', k]);
  });

  test('revoke refusals', () => {
    const w = world();
    const cases: Array<[SenderInfo, unknown, string, RegExp]> = [
      [client1, { publicKey: keys.client1 }, 'TX_FORBIDDEN', /only an organization admin/],
      [admin2, { publicKey: keys.client1 }, 'TX_FORBIDDEN', /belongs to org1; only an admin/],
      [admin1, { publicKey: pk() }, 'NOT_FOUND', /not registered/],
      [admin1, { publicKey: keys.admin1 }, 'INVALID_ARGS', /org1\/admin is a admin key/],
      [admin1, { publicKey: keys.node1 }, 'INVALID_ARGS', /consensus key.*governance/],
      [admin1, { publicKey: '04' }, 'INVALID_ARGS', /65-byte/],
      [admin1, { publicKey: keys.client1, name: 'c' }, 'INVALID_ARGS', /unknown field "name"/],
    ];
    for (const [sender, args, code, why] of cases) {
      refused(() => w.call(sender, 'revoke', args), code, why);
    }
    assert.equal(orgKeys(w.stored(), 'org1').length, 3);
    assert.equal(w.events.length, 0);
  });

  test('list: any sender, read-only; unknown org is NOT_FOUND', () => {
    const w = world();
    assert.deepEqual(
      (w.call(who('', 'common'), 'list', { org: 'org1' }) as Array<{ name: string }>).map(
        (k) => k.name,
      ),
      ['admin', 'client', 'node1'],
    );
    refused(() => w.call(admin1, 'list', { org: 'org9' }), 'NOT_FOUND', /org9/);
    refused(() => w.call(admin1, 'list', {}), 'INVALID_ARGS', /org must be/);
    refused(() => w.call(admin1, 'list', { org: 'org1', x: 1 }), 'INVALID_ARGS', /unknown field/);
  });

  test('deterministic: the same calls store the same bytes', () => {
    const [a, b] = [pk(), pk()];
    const run = () => {
      const w = world(config());
      w.call(admin2, 'register', { name: 'a', role: 'client', publicKey: a });
      w.call(admin1, 'revoke', { publicKey: keys.client1 });
      w.call(admin1, 'register', { name: 'b', role: 'common', publicKey: b });
      return hex(w.state.get(`chain_config/${CONFIG_KEY}`)!);
    };
    assert.equal(run(), run());
  });
});
