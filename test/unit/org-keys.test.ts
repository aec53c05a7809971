/**
 * `org_keys` on in-process key-mode chains: a key an org admin registers (no vote) signs txs
 * the chain accepts from the next block, and is refused again once revoked; the refusals on
 * chain; a cert-mode chain points to certificates. Then the same through the SDK
 * (`registerKey`, `listKeys`, `revokeKey`) and `archi id register|revoke` over a real RPC server.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { cliOutput } from '../../src/cli/client-context.ts';
import { register as registerId } from '../../src/cli/commands/id.ts';
import { CommitSchema, create } from '../../src/codec/index.ts';
import { address, type CryptoProfile, getProfile, type Signer } from '../../src/crypto/profile.ts';
import { buildChain } from '../../src/node/build-chain.ts';
import { NodeMetrics } from '../../src/node/metrics.ts';
import { createRpcServer } from '../../src/rpc/server.ts';
import { ArchiClient } from '../../src/sdk/client.ts';
import { Identity } from '../../src/sdk/identity.ts';
import { listKeys, registerKey, revokeKey } from '../../src/sdk/org-keys.ts';
import { ChainStore } from '../../src/storage/chain-store.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { validateGenesis } from '../../src/types/genesis.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { buildTx, decodeTx } from '../../src/types/tx.ts';
import { makeFixture } from './chain-fixture.ts';

interface Key {
  publicKey: Uint8Array;
  privateKeyPem: string;
  signer: Signer;
  hex: string;
}

function newKey(profile: CryptoProfile): Key {
  const kp = profile.generateKeyPair();
  return { ...kp, signer: profile.signerFromPem(kp.privateKeyPem), hex: hex(kp.publicKey) };
}

/** A solo key-mode chain: org1 (admin, client, node1) and org2 (admin). */
function keyChain(profileName: 'standard' | 'gm') {
  const profile = getProfile(profileName);
  const k = {
    admin1: newKey(profile),
    client1: newKey(profile),
    node1: newKey(profile),
    admin2: newKey(profile),
  };
  const genesis = validateGenesis({
    chainId: 'unit',
    genesisTime: 1_700_000_000_000,
    crypto: profileName,
    identityMode: 'key',
    consensus: 'solo',
    orgs: [
      {
        id: 'org1',
        keys: [
          { name: 'admin', role: 'admin', publicKey: k.admin1.hex },
          { name: 'client', role: 'client', publicKey: k.client1.hex },
          { name: 'node1', role: 'consensus', publicKey: k.node1.hex },
        ],
      },
      { id: 'org2', keys: [{ name: 'admin', role: 'admin', publicKey: k.admin2.hex }] },
    ],
    validators: [{ name: 'node1', org: 'org1', publicKey: k.node1.hex, power: 1 }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'archi-unit-'));
  const chain = buildChain({ profile, store: ChainStore.open(dir), genesis });
  let time = Date.now();
  const tx = (key: Key, org: string, contract: string, method: string, args: unknown) =>
    buildTx(profile, key.signer, {
      chainId: 'unit',
      sender: { org, publicKey: key.publicKey },
      contract,
      method,
      args,
      timestamp: Date.now(),
    });
  return {
    profile,
    k,
    chain,
    tx,
    send: (key: Key, org: string, contract: string, method: string, args: unknown) =>
      chain.submitTx(tx(key, org, contract, method, args).bytes),
    commit() {
      time = Math.max(time + 1, Date.now());
      const p = chain.proposeBlock(time, new Uint8Array(20));
      chain.commitBlock(
        p,
        create(CommitSchema, { height: BigInt(p.height), blockHash: p.blockHash }),
      );
      return p;
    },
    async close() {
      await chain.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type KeyChain = ReturnType<typeof keyChain>;

/** Submit, commit one block, return the receipt. */
async function receipt(
  c: KeyChain,
  key: Key,
  org: string,
  contract: string,
  method: string,
  args: unknown,
) {
  const id = await c.send(key, org, contract, method, args);
  c.commit();
  return c.chain.getTx(id).receipt;
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: ArchiError) => e.code,
  );

describe('org_keys on a key-mode chain', () => {
  let c: KeyChain;
  before(() => {
    c = keyChain('standard');
  });
  after(() => c.close());

  test('a key registered by its org admin signs txs from the next block; revoked, it is refused', async () => {
    const app = newKey(c.profile);
    const put = (n: number) => c.send(app, 'org1', 'kv', 'put', { key: `app-${n}`, value: n });
    assert.equal(await refusal(put(0)), 'TX_UNKNOWN_SENDER');

    const id = await c.send(c.k.admin1, 'org1', 'org_keys', 'register', {
      name: 'app',
      role: 'client',
      publicKey: app.hex,
    });
    const block = c.commit();
    const r = c.chain.getTx(id).receipt;
    assert.equal(r.status, 'ok', `${r.code} ${r.message}`);
    const key = { org: 'org1', name: 'app', role: 'client', publicKey: app.hex };
    assert.deepEqual(r.result, key);
    assert.deepEqual(r.events, [{ contract: 'org_keys', name: 'key_registered', data: key }]);
    assert.equal(block.result.configChanged, c.chain.config, 'the chain takes the stored config');
    assert.equal(block.result.validatorsChanged, undefined);
    assert.deepEqual(
      c.chain.config.orgs[0].keys.map((x) => x.name),
      ['admin', 'client', 'node1', 'app'],
    );
    assert.deepEqual(
      (c.chain.query('org_keys', 'list', { org: 'org1' }, false).result as any[]).at(-1),
      key,
    );

    // The new key signs a tx the chain admits and executes.
    const ok = await receipt(c, app, 'org1', 'kv', 'put', { key: 'app-1', value: 1 });
    assert.equal(ok.status, 'ok', `${ok.code} ${ok.message}`);
    assert.equal(c.chain.query('kv', 'get', { key: 'app-1' }, false).result, 1);
    // Under the org that registered it only.
    assert.equal(
      await refusal(c.send(app, 'org2', 'kv', 'put', { key: 'x', value: 1 })),
      'TX_UNKNOWN_SENDER',
    );

    // Only an admin of the org holding the key revokes it.
    const other = await receipt(c, c.k.admin2, 'org2', 'org_keys', 'revoke', {
      publicKey: app.hex,
    });
    assert.equal(other.code, 'TX_FORBIDDEN');
    assert.match(other.message, /belongs to org1/);
    const gone = await receipt(c, c.k.admin1, 'org1', 'org_keys', 'revoke', {
      publicKey: app.hex,
    });
    assert.equal(gone.status, 'ok', gone.message);
    assert.deepEqual(gone.events, [{ contract: 'org_keys', name: 'key_revoked', data: key }]);
    assert.equal(await refusal(put(2)), 'TX_UNKNOWN_SENDER');
  });

  test('a registration rules from the next block: a tx of the key in the same block fails', () => {
    const app = newKey(c.profile);
    const decoded = (t: { bytes: Uint8Array }) => decodeTx(c.profile, t.bytes);
    // Admission sees committed state only, so run the block through the executor directly.
    const res = c.chain.executor.executeBlock({
      height: c.chain.height + 1,
      time: Date.now(),
      config: c.chain.config,
      prevStateRoot: unhex(c.chain.latestHeader.stateRoot),
      txs: [
        decoded(
          c.tx(c.k.admin1, 'org1', 'org_keys', 'register', {
            name: 'same-block',
            role: 'client',
            publicKey: app.hex,
          }),
        ),
        decoded(c.tx(app, 'org1', 'kv', 'put', { key: 'same-block', value: 1 })),
      ],
    });
    assert.deepEqual(
      res.receipts.map((r) => r.code),
      ['', 'TX_UNKNOWN_SENDER'],
    );
    assert.ok(res.configChanged?.orgs[0].keys.some((k) => k.name === 'same-block'));
  });

  test('refusals: a client, an admin role, a key already registered, the same key twice in a block', async () => {
    const app = newKey(c.profile);
    const args = { name: 'refused', role: 'client', publicKey: app.hex };
    const byClient = await receipt(c, c.k.client1, 'org1', 'org_keys', 'register', args);
    assert.equal(byClient.code, 'TX_FORBIDDEN');
    assert.match(byClient.message, /only an organization admin/);
    const asAdmin = await receipt(c, c.k.admin1, 'org1', 'org_keys', 'register', {
      ...args,
      role: 'admin',
    });
    assert.equal(asAdmin.code, 'INVALID_ARGS');
    assert.match(asAdmin.message, /client or common.*governance/);
    const taken = await receipt(c, c.k.admin2, 'org2', 'org_keys', 'register', {
      ...args,
      publicKey: c.k.client1.hex,
    });
    assert.equal(taken.code, 'INVALID_ARGS');
    assert.match(taken.message, /already registered as org1\/client/);

    // Two registrations of one key in one block: the second sees the first.
    const first = await c.send(c.k.admin1, 'org1', 'org_keys', 'register', args);
    const second = await c.send(c.k.admin2, 'org2', 'org_keys', 'register', args);
    c.commit();
    assert.equal(c.chain.getTx(first).receipt.status, 'ok');
    const r2 = c.chain.getTx(second).receipt;
    assert.equal(r2.code, 'INVALID_ARGS');
    assert.match(r2.message, /already registered as org1\/refused/);
    assert.equal(c.chain.config.orgs[1].keys.length, 1);
  });

  test('the registry lists org_keys as a native contract', () => {
    const native = c.chain.registry.list().find((x) => x.name === 'org_keys');
    assert.deepEqual(native, {
      name: 'org_keys',
      kind: 'native',
      methods: [
        { name: 'register', write: true },
        { name: 'revoke', write: true },
        { name: 'list', write: false },
      ],
    });
  });
});

test('on a cert-mode chain org_keys.register points to certificates', async () => {
  const fx = makeFixture('standard');
  try {
    const chain = fx.open();
    const key = hex(fx.profile.generateKeyPair().publicKey);
    const id = await fx.admin.send(chain, {
      contract: 'org_keys',
      method: 'register',
      args: { name: 'app', role: 'client', publicKey: key },
    });
    fx.commit(chain, Date.now());
    const r = chain.getTx(id).receipt;
    assert.equal(r.code, 'INVALID_ARGS');
    assert.match(r.message, /key-mode chains only.*cert mode.*certificates/);
  } finally {
    await fx.cleanup();
  }
});

describe('org_keys through the SDK and `archi id register|revoke` (gm, over RPC)', () => {
  let c: KeyChain;
  let app: FastifyInstance;
  let url: string;
  let client: ArchiClient;
  let timer: NodeJS.Timeout;
  const home = mkdtempSync(join(tmpdir(), 'archi-cli-'));

  before(async () => {
    c = keyChain('gm');
    // A block whenever txs are pending, as a solo engine would cut them.
    timer = setInterval(() => {
      if (c.chain.mempool.size > 0) c.commit();
    }, 5);
    app = createRpcServer({
      node: {
        node: 'node1',
        org: 'org1',
        peers: () => [],
        chains: () => [
          { chain: c.chain, consensus: () => ({ validator: true, round: 0, step: 'solo' }) },
        ],
      },
      metrics: new NodeMetrics(),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    client = new ArchiClient(url);
    const user = join(home, 'orgs', 'org1', 'users', 'admin');
    mkdirSync(user, { recursive: true });
    writeFileSync(join(user, 'key.pem'), c.k.admin1.privateKeyPem);
    writeFileSync(join(user, 'public.hex'), `${c.k.admin1.hex}\n`);
  });
  after(async () => {
    clearInterval(timer);
    await app?.close();
    await c?.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('registerKey, then the key signs through the SDK; listKeys; revokeKey; errors thrown', async () => {
    const admin = Identity.fromPem('gm', 'org1', c.k.admin1.privateKeyPem);
    const kp = newKey(c.profile);
    const done = await registerKey(client, admin, { name: 'sdk-app', publicKey: kp.publicKey });
    assert.deepEqual(done.key, {
      org: 'org1',
      name: 'sdk-app',
      role: 'client',
      publicKey: kp.hex,
    });
    assert.equal(done.receipt.status, 'ok');
    assert.ok(done.height >= 1 && typeof done.txId === 'string');

    const appId = Identity.fromPem('gm', 'org1', kp.privateKeyPem);
    assert.equal(appId.address, address(c.profile, kp.publicKey));
    const sent = (await client.send(
      appId,
      { contract: 'kv', method: 'put', args: { key: 'sdk', value: 'hi' } },
      { wait: true },
    )) as { height: number; receipt: { status: string } };
    assert.equal(sent.receipt.status, 'ok');
    assert.ok(sent.height > done.height);

    const listed = await listKeys(client, 'org1');
    assert.deepEqual(
      listed.map((k) => [k.name, k.role]),
      [
        ['admin', 'admin'],
        ['client', 'client'],
        ['node1', 'consensus'],
        ['sdk-app', 'client'],
      ],
    );
    await assert.rejects(listKeys(client, 'org9'), { code: 'NOT_FOUND' });

    await assert.rejects(
      registerKey(client, admin, { name: 'again', role: 'common', publicKey: kp.hex }),
      (e: unknown) => {
        assert.ok(e instanceof ArchiError);
        assert.equal(e.code, 'INVALID_ARGS');
        assert.match(e.message, /register org1\/again failed in block \d+: .*already registered/);
        return true;
      },
    );
    const client1 = Identity.fromPem('gm', 'org1', c.k.client1.privateKeyPem);
    await assert.rejects(
      registerKey(client, client1, { name: 'x', publicKey: newKey(c.profile).hex }),
      {
        code: 'TX_FORBIDDEN',
      },
    );

    const revoked = await revokeKey(client, admin, kp.hex);
    assert.deepEqual(revoked.key, done.key);
    await assert.rejects(
      client.send(appId, { contract: 'kv', method: 'put', args: { key: 'sdk', value: 2 } }),
      { code: 'TX_UNKNOWN_SENDER' },
    );
    await assert.rejects(revokeKey(client, admin, kp.hex), { code: 'NOT_FOUND' });
  });

  /** Run `archi id ...` in-process against the RPC server, capturing stdout. */
  async function archi(args: string[]): Promise<{ out: string; error?: unknown }> {
    const program = new Command('archi')
      .exitOverride()
      .configureOutput({ writeErr: () => undefined });
    registerId(program);
    let out = '';
    const write = cliOutput.write;
    cliOutput.write = (text: string) => {
      out += text;
    };
    try {
      await program.parseAsync(['id', ...args, '--rpc', url, '--dir', home], { from: 'user' });
      return { out };
    } catch (error) {
      return { out, error };
    } finally {
      cliOutput.write = write;
    }
  }

  test('archi id register and revoke', async () => {
    const kp = newKey(c.profile);
    const reg = await archi([
      'register',
      '--as',
      'org1/admin',
      '--name',
      'cli-app',
      '--public-key',
      `0x${kp.hex.toUpperCase()}`,
      '--role',
      'common',
      '--json',
    ]);
    assert.equal(reg.error, undefined, String(reg.error));
    const json = JSON.parse(reg.out);
    assert.deepEqual(
      { org: json.org, name: json.name, role: json.role, publicKey: json.publicKey },
      { org: 'org1', name: 'cli-app', role: 'common', publicKey: kp.hex },
    );
    assert.ok(Number.isInteger(json.height) && typeof json.txId === 'string' && json.gasUsed > 0);

    const human = await archi(['revoke', '--as', 'org1/admin', '--public-key', kp.hex]);
    assert.equal(human.error, undefined, String(human.error));
    assert.match(human.out, /^revoked org1\/cli-app \(common\) in block \d+\ntxId: [0-9a-f]+\n/);
    assert.match(human.out, /refused from block \d+/);

    const admin = await archi([
      'register',
      '--name',
      'x',
      '--public-key',
      kp.hex,
      '--role',
      'admin',
    ]);
    assert.ok(admin.error instanceof ArchiError);
    assert.equal(admin.error.code, 'INVALID_ARGS');
    assert.match(admin.error.message, /--role must be client or common/);
    const bad = await archi(['revoke', '--public-key', 'nothex']);
    assert.equal((bad.error as ArchiError).code, 'INVALID_ARGS');
    const onChain = await archi(['revoke', '--public-key', kp.hex]);
    assert.equal((onChain.error as ArchiError).code, 'NOT_FOUND');
  });
});
