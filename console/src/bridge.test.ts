/**
 * The Bridge page's hand-written ABI: its selectors and topics are the compiled contracts'
 * (src/evm/artifacts), its encodings equal ethers', and the transfer logs it decodes are the
 * ones ethers encodes; attested clients are picked out of a `clients` answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AbiCoder, Interface } from 'ethers';
import { artifact } from '../../src/evm/bridge.ts';
import {
  encodeAddress,
  encodeString,
  readAttestedClients,
  readTransferLog,
  SELECTOR,
  stringAt,
  TOPIC,
} from './bridge.ts';

const bridge = new Interface(artifact('ArchipelagoBridge').abi);
const lc = new Interface(artifact('ArchipelagoLightClient').abi);
const token = new Interface(artifact('BridgedToken').abi);

describe('bridge page ABI', () => {
  it('selectors and topics are the compiled ones', () => {
    const owner: Record<string, Interface> = {
      tokenOf: bridge,
      clientId: bridge,
      lightClient: bridge,
      latestHeight: lc,
      status: lc,
      totalSupply: token,
      balanceOf: token,
    };
    for (const [name, sel] of Object.entries(SELECTOR)) {
      assert.equal(owner[name].getFunction(name)?.selector, sel, name);
    }
    for (const [name, topic] of Object.entries(TOPIC)) {
      assert.equal(bridge.getEvent(name)?.topicHash, topic, name);
    }
  });

  it('arguments encode as ethers encodes them', () => {
    for (const s of ['', 'transfer/isle/isle', 'x'.repeat(32), 'é'.repeat(40)]) {
      assert.equal(
        `0x${SELECTOR.tokenOf.slice(2)}${encodeString(s)}`,
        bridge.encodeFunctionData('tokenOf', [s]),
      );
      assert.equal(stringAt(encodeString(s), 0), s);
    }
    const a = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    assert.equal(
      `${SELECTOR.balanceOf}${encodeAddress(a)}`,
      token.encodeFunctionData('balanceOf', [a]),
    );
  });

  it('Minted and SendTransfer logs read back; other logs are skipped', () => {
    const coder = AbiCoder.defaultAbiCoder();
    const who = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
    const minted = bridge.encodeEventLog('Minted', [
      7,
      who,
      `0x${'ab'.repeat(20)}`,
      'transfer/isle/isle',
      100n,
    ]);
    assert.deepEqual(readTransferLog({ ...minted, blockNumber: '0x1f', transactionHash: '0xaa' }), {
      direction: 'to-evm',
      sequence: 7,
      block: 31,
      tx: '0xaa',
      evmAddress: who,
      denom: 'transfer/isle/isle',
      amount: '100',
    });
    const sent = bridge.encodeEventLog('SendTransfer', [
      3,
      who,
      'transfer/isle/gold',
      40n,
      'b2699f',
    ]);
    assert.deepEqual(readTransferLog({ ...sent, blockNumber: '0x2', transactionHash: '0xbb' }), {
      direction: 'from-evm',
      sequence: 3,
      block: 2,
      tx: '0xbb',
      evmAddress: who,
      denom: 'transfer/isle/gold',
      amount: '40',
      receiver: 'b2699f',
    });
    const other = {
      topics: [`0x${'00'.repeat(32)}`],
      data: coder.encode(['uint256'], [1]),
      blockNumber: '0x1',
      transactionHash: '0x',
    };
    assert.equal(readTransferLog(other), null);
    assert.equal(
      readTransferLog({ ...minted, data: '0x12', blockNumber: '0x1', transactionHash: '0x' }),
      null,
    );
  });

  it('attested clients only, well formed', () => {
    const clients = [
      { clientId: 'island-b', chainId: 'island-b', type: 'tendermint' },
      {
        clientId: 'evm-31337',
        chainId: '31337',
        type: 'attested',
        bridge: `0x${'cd'.repeat(20)}`,
        confirmations: 2,
        status: 'active',
      },
      { clientId: 'evm-1', chainId: '1', type: 'attested', bridge: 'nope' },
    ];
    assert.deepEqual(readAttestedClients({ clients }), [
      {
        clientId: 'evm-31337',
        evmChainId: '31337',
        bridge: `0x${'cd'.repeat(20)}`,
        confirmations: 2,
        status: 'active',
      },
    ]);
    assert.deepEqual(readAttestedClients(clients).length, 1);
    assert.deepEqual(readAttestedClients(null), []);
  });
});
