/**
 * The interchain CLI without a running network: how `archi relay start` and `archi ibc ...`
 * read their flags (DIR[:CHAIN], durations, client ids, denominations, outcomes) and the one
 * clear error each bad invocation gets from the real `archi` process, before any node is asked.
 * The commands against running networks are in ibc-relay.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  clientIdFor,
  destDenomOf,
  parseDuration,
  shortDenom,
  transferStatus,
} from '../../src/cli/commands/ibc.ts';
import { parseSide } from '../../src/cli/chain-side.ts';
import { getProfile } from '../../src/crypto/profile.ts';
import type { IbcClientView } from '../../src/sdk/ibc.ts';
import { ArchiError } from '../../src/types/errors.ts';
import { hex } from '../../src/types/hex.ts';
import { archi, removeDir, tempDir } from './harness.ts';
import { initNetwork } from './network.ts';

const code = (c: string) => (e: unknown) => e instanceof ArchiError && e.code === c;

describe('interchain CLI flags', () => {
  test('DIR[:CHAIN]: a chain after the last colon, paths as they are', () => {
    assert.deepEqual(parseSide('./net', '--a'), { dir: './net' });
    assert.deepEqual(parseSide('/x/net:island-b', '--a'), { dir: '/x/net', chain: 'island-b' });
    assert.deepEqual(parseSide('net:', '--a'), { dir: 'net:' });
    assert.deepEqual(parseSide('a:b/c', '--a'), { dir: 'a:b/c' }, 'a colon inside a path');
    assert.throws(() => parseSide('', '--b'), code('INVALID_ARGS'));
    assert.throws(() => parseSide('net:bad chain', '--b'), code('INVALID_ARGS'));
  });

  test('durations, client ids', () => {
    assert.equal(parseDuration('14d', 'x'), 14 * 86_400_000);
    assert.equal(parseDuration('90s', 'x'), 90_000);
    assert.equal(parseDuration('2500', 'x'), 2500);
    assert.equal(parseDuration('3h', 'x'), 3 * 3_600_000);
    for (const bad of ['0', '-1s', '1w', '', 'soon']) {
      assert.throws(() => parseDuration(bad, '--trusting-period'), code('INVALID_ARGS'), bad);
    }
    assert.equal(clientIdFor('Island-B'), 'island-b');
    assert.throws(() => clientIdFor('_x'), code('INVALID_ARGS'));
  });

  test('the destination denomination and its short form; outcomes of a settlement', () => {
    const client = {
      clientId: 'island-b',
      counterpartyClientId: 'island-a',
      profile: 'gm',
    } as IbcClientView;
    assert.equal(destDenomOf('island-a', client), 'transfer/island-a/island-a');
    assert.equal(destDenomOf('transfer/island-b/island-b', client), 'island-b', 'home again');
    assert.equal(
      destDenomOf('transfer/other/x', client),
      'transfer/island-a/transfer/other/x',
      'a voucher of a voucher',
    );
    const full = 'transfer/island-a/island-a';
    assert.equal(
      shortDenom(full, 'gm'),
      `ibc/${hex(getProfile('gm').hash(new TextEncoder().encode(full))).toUpperCase()}`,
    );
    assert.notEqual(shortDenom(full, 'gm'), shortDenom(full, 'standard'));
    assert.equal(
      transferStatus({ status: 'acked', ack: { result: { denom: 'd' } }, height: 3 }),
      'acked',
    );
    assert.equal(
      transferStatus({ status: 'acked', ack: { error: 'X: y' }, height: 3 }),
      'refunded',
    );
    assert.equal(transferStatus({ status: 'timed-out', height: 3 }), 'timed-out');
  });
});

describe('interchain CLI refusals from the real archi process', () => {
  let dir: string;
  before(async () => {
    dir = tempDir('archi-ibc-cli-');
    await initNetwork(dir, 1, ['--chain', 'island-x']);
  });
  after(() => removeDir(dir));

  const fails = async (args: string[], re: RegExp): Promise<void> => {
    const r = await archi(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  };

  test('relay start and connect need two chains and directories that hold them', async () => {
    await fails(
      ['relay', 'start', '--a', dir, '--b', dir],
      /INVALID_ARGS: both sides are chain island-x/,
    );
    await fails(
      ['ibc', 'connect', '--a', dir, '--b', dir],
      /INVALID_ARGS: --a and --b are both chain island-x/,
    );
    await fails(
      ['relay', 'start', '--a', dir, '--b', `${dir}-missing`],
      /BAD_REQUEST: no network at/,
    );
    await fails(
      ['relay', 'start', '--a', dir, '--b', `${dir}:island-y`],
      /CHAIN_NOT_FOUND: no chain island-y/,
    );
    await fails(
      ['relay', 'start', '--a', dir, '--b', dir, '--as', 'org9/client'],
      /INVALID_ARGS: no identity org9\/client/,
    );
    await fails(
      ['ibc', 'connect', '--a', dir, '--b', dir, '--trusting-period', '1w'],
      /INVALID_ARGS: --trusting-period/,
    );
  });

  test('transfer refuses bad amounts and two timeouts before asking a node', async () => {
    const base = ['ibc', 'transfer', '--dir', dir, '--to-chain', 'y', '--receiver', 'ab'];
    await fails([...base, '--amount', '0'], /INVALID_ARGS: --amount must be a positive integer/);
    await fails([...base, '--amount', '1.5'], /INVALID_ARGS: --amount/);
    await fails(
      [...base, '--amount', '5', '--timeout-blocks', '3', '--timeout-seconds', '9'],
      /INVALID_ARGS: use --timeout-blocks or --timeout-seconds, not both/,
    );
  });
});
