/**
 * The pieces of the EVM bridge's CLI and relayer that need no chain: DIR/evm.json (written,
 * read back, a hand-broken file refused with one code), the EVM denomination --denom names,
 * the ack bytes of a `WriteAck`, and the EVM connection refusing bad URLs, unreachable nodes
 * and bad keys before anything is sent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { evmDenomOf } from '../../src/cli/commands/bridge.ts';
import { evmClientId } from '../../src/cli/commands/evm.ts';
import { connectEvm } from '../../src/evm/connect.ts';
import {
  type EvmBridgeRecord,
  evmFilePath,
  evmRecordOf,
  readEvmFile,
  writeEvmRecord,
} from '../../src/evm/evm-record.ts';
import { decodeAckBytes } from '../../src/relayer/evm-relay.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { archi } from '../e2e/harness.ts';

const code = (c: string) => (e: unknown) => e instanceof ArchiError && e.code === c;

const record: EvmBridgeRecord = {
  chainId: 'isle',
  evmUrl: 'http://127.0.0.1:8545',
  evmChainId: '31337',
  lightClient: `0x${'a'.repeat(40)}`,
  bridge: `0x${'b'.repeat(40)}`,
  bridgeClientId: 'isle',
  archiClientId: 'evm-31337',
  confirmations: 2,
  deployBlock: 5,
  trustedHeight: 17,
  client: 'created',
  proposalId: 1,
};

describe('evm.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'archi-evm-json-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('written, read back; a missing chain and a broken file get one code each', () => {
    assert.deepEqual(readEvmFile(dir), { bridges: {} });
    assert.throws(() => evmRecordOf(dir, 'isle', 'deploy'), code('IBC_CLIENT_NOT_FOUND'));
    writeEvmRecord(dir, record);
    writeEvmRecord(dir, { ...record, chainId: 'other', bridgeClientId: 'other' });
    assert.deepEqual(evmRecordOf(dir, 'isle', 'deploy'), record);
    assert.deepEqual(Object.keys(readEvmFile(dir).bridges).sort(), ['isle', 'other']);
    for (const broken of [
      '{',
      '[]',
      JSON.stringify({ bridges: { isle: { ...record, bridge: '0x12' } } }),
      JSON.stringify({ bridges: { isle: { ...record, confirmations: -1 } } }),
      JSON.stringify({ bridges: { isle: { ...record, client: 'maybe' } } }),
    ]) {
      writeFileSync(evmFilePath(dir), broken);
      assert.throws(() => readEvmFile(dir), code('CONFIG_INVALID'), broken);
    }
  });
});

describe('names and bytes', () => {
  test("--denom: the chain's own by default, a voucher held here gets the bridge prefix, the EVM's full name stays", () => {
    assert.equal(evmDenomOf(record, undefined), 'transfer/isle/isle');
    assert.equal(evmDenomOf(record, 'gold'), 'transfer/isle/gold');
    assert.equal(evmDenomOf(record, 'transfer/gm/gm'), 'transfer/isle/transfer/gm/gm');
    assert.equal(
      evmDenomOf(record, 'transfer/isle/transfer/gm/gm'),
      'transfer/isle/transfer/gm/gm',
    );
    assert.equal(evmClientId(31337n), 'evm-31337');
  });

  test('WriteAck bytes: a result or an error ack, nothing else', () => {
    const hexOf = (s: string) => `0x${Buffer.from(s).toString('hex')}`;
    assert.deepEqual(decodeAckBytes(hexOf('{"result":{"denom":"d"}}')), {
      result: { denom: 'd' },
    });
    assert.deepEqual(decodeAckBytes(hexOf('{"error":"X: y"}')), { error: 'X: y' });
    for (const bad of ['', 'null', '[]', '{"error":1}', '{"result":1,"error":"x"}', 'not json']) {
      assert.equal(decodeAckBytes(hexOf(bad)), undefined, bad);
    }
  });
});

describe('EVM connection', () => {
  test('bad URLs and nodes that do not answer are refused at once', async () => {
    await assert.rejects(connectEvm('ftp://x'), code('INVALID_ARGS'));
    await assert.rejects(connectEvm('not a url'), code('INVALID_ARGS'));
    const t = Date.now();
    await assert.rejects(connectEvm('http://127.0.0.1:1', 2000), code('NOT_READY'));
    assert.ok(Date.now() - t < 5000, 'no endless retry');
  });
});

describe('relay start --evm refusals from the real archi process', () => {
  test('one of --b and --evm; no metrics port with --evm', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['relay', 'start', '--a', tmpdir()],
        /INVALID_ARGS: relay start needs --b DIR\[:CHAIN\] or --evm URL/,
      ],
      [
        ['relay', 'start', '--a', tmpdir(), '--b', tmpdir(), '--evm', 'http://x'],
        /INVALID_ARGS: relay start needs/,
      ],
      [
        ['relay', 'start', '--a', tmpdir(), '--evm', 'http://x', '--metrics-port', '0'],
        /INVALID_ARGS: --metrics-port/,
      ],
    ];
    await Promise.all(
      cases.map(async ([args, re]) => {
        const r = await archi(args);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, re);
        assert.equal(r.stderr.trim().split('\n').length, 1);
      }),
    );
  });
});
