/**
 * Gas of the EVM side of the bridge (issue 14), measured on a real Hardhat node (Osaka: the
 * P-256 precompile) with headers and packets of real in-process Archipelago chains:
 * - per header update, for sets of 4, 7 and 10 validators (equal power): adjacent with every
 *   validator signing and with the fewest signers above 2/3, a skip over 3 heights, and
 *   registering a new validator set (what a set change adds to the update that carries it);
 * - per transfer: receiving a packet from Archipelago (the first mint of a denomination deploys
 *   its ERC-20, later ones only mint), burning vouchers to send them back, and a timeout refund.
 * `node --import tsx bench/evm-gas.ts [--updates N]`: prints one JSON report and writes it to
 * bench/results/evm-gas-DATE.json. Gas is deterministic; only the proof depths vary a little
 * with the random keys of each run.
 */
import { parseArgs } from 'node:util';
import { EvmBridge, EvmLightClient } from '../src/evm/bridge.ts';
import { fullKey, keys } from '../src/vm/native/ibc/keys.ts';
import { commitBy, headerInput, newValidator, nextSet } from '../test/evm/evm-fixture.ts';
import { startHardhatNode } from '../test/evm/hardhat-node.ts';
import { HandRelay, type Island, makeIsland, ok, runTx } from '../test/vm/ibc-fixture.ts';
import { gitCommit, machineInfo, writeReport } from './harness.ts';

const { values } = parseArgs({ options: { updates: { type: 'string', default: '5' } } });
const UPDATES = Number(values.updates);

const mean = (xs: bigint[]): number =>
  Math.round(Number(xs.reduce((a, b) => a + b, 0n)) / xs.length);

async function deployClient(island: Island, signer: Parameters<typeof EvmLightClient.deploy>[0]) {
  const t = island.chain.height;
  return EvmLightClient.deploy(signer, {
    chainId: island.chainId,
    trustingPeriodMs: 3_600_000,
    maxClockDriftMs: 600_000,
    header: headerInput(island, t),
    nextValidators: nextSet(island, t),
  });
}

/** Header-update gas for a set of `n` validators of power 10. */
async function headerGas(n: number, signer: Parameters<typeof EvmLightClient.deploy>[0]) {
  const island = makeIsland(`gas-${n}`, 'standard', { validators: n });
  try {
    island.commit();
    const lc = await deployClient(island, signer);
    const quorum = Math.floor((2 * n) / 3) + 1; // fewest equal-power signers above 2/3
    const all: bigint[] = [];
    const min: bigint[] = [];
    for (let i = 0; i < UPDATES; i++) {
      let h = island.commit();
      all.push((await lc.update(headerInput(island, h), h - 1)).gasUsed);
      h = island.commit();
      const few = {
        ...headerInput(island, h),
        commit: commitBy(island, h, island.validators.slice(0, quorum)),
      };
      min.push((await lc.update(few, h - 1)).gasUsed);
    }
    const from = island.chain.height;
    island.commit();
    island.commit();
    const to = island.commit();
    const skip = await lc.update(headerInput(island, to), from, {
      trustedValidators: nextSet(island, from),
    });
    const fresh = Array.from({ length: n }, (_, i) => newValidator(`fresh${i}`, 10));
    const register = await lc.registerValidatorSet(
      fresh.map((v) => ({ name: v.name, org: v.org, publicKey: v.publicKey, power: v.power })),
    );
    return {
      validators: n,
      adjacentAllSign: mean(all),
      adjacentQuorum: { signers: quorum, gas: mean(min) },
      skip3AllSign: Number(skip.gasUsed),
      registerValidatorSet: Number(register.gasUsed),
    };
  } finally {
    await island.cleanup();
  }
}

/** Transfer gas: receive (first and later mints), burn back, timeout refund. */
async function transferGas(signers: Parameters<typeof EvmLightClient.deploy>[0][]) {
  const island = makeIsland('gas-transfer', 'standard');
  const standIn = makeIsland('gas-standin', 'standard');
  try {
    island.commit();
    standIn.commit();
    await new HandRelay().createClient(island, 'evm', standIn, 'archi');
    ok(
      await runTx(
        island,
        'token',
        'mint',
        { to: island.fx.client.address, amount: '1000000' },
        island.fx.admin,
      ),
    );
    const lc = await deployClient(island, signers[0]);
    const bridge = await EvmBridge.deploy(signers[0], await lc.address(), {
      clientId: 'archi',
      counterpartyClientId: 'evm',
    });
    const alice = await signers[1].getAddress();
    const sync = async (height: number) => {
      for (let h = (await lc.latestHeight()) + 1; h <= height; h++) {
        await lc.update(headerInput(island, h), h - 1);
      }
    };
    const recv: bigint[] = [];
    const depths: number[] = [];
    for (let i = 0; i < UPDATES + 1; i++) {
      const r = ok(
        await runTx(island, 'token', 'sendTransfer', {
          client: 'evm',
          receiver: alice,
          amount: '100',
          timeoutTime: Date.now() + 3_600_000,
        }),
      );
      const seq = (r.result as { sequence: number }).sequence;
      const packet = island.chain.query(
        'ibc',
        'packet',
        { client: 'evm', sequence: seq },
        false,
      ).result;
      const proven = island.prove(fullKey(keys.commitment('evm', seq)));
      await sync(proven.height);
      recv.push((await bridge.recvPacket(packet as never, proven.proof, proven.height)).gasUsed);
      depths.push(proven.proof.siblings.length);
    }
    const denom = 'transfer/archi/gas-transfer';
    const asAlice = new EvmBridge(await bridge.address(), signers[1]);
    const burns: bigint[] = [];
    let last = null as Awaited<ReturnType<EvmBridge['sendTransfer']>> | null;
    for (let i = 0; i < UPDATES; i++) {
      last = await asAlice.sendTransfer({
        denom,
        amount: 10n,
        receiver: island.fx.client.address,
        timeoutHeight: island.chain.height + 2,
      });
      burns.push(last.gasUsed);
    }
    island.commit();
    island.commit();
    const absent = island.prove(fullKey(keys.receipt('evm', last!.packet.sequence)));
    await sync(absent.height);
    const refund = await bridge.timeoutPacket(last!.packet, absent.proof, absent.height);
    return {
      recvFirstMintDeploysToken: Number(recv[0]),
      recvMint: mean(recv.slice(1)),
      proofSiblings: { min: Math.min(...depths), max: Math.max(...depths) },
      sendTransferBurn: mean(burns),
      timeoutRefund: Number(refund.gasUsed),
    };
  } finally {
    await island.cleanup();
    await standIn.cleanup();
  }
}

const node = await startHardhatNode();
try {
  const headers = [];
  for (const n of [4, 7, 10]) headers.push(await headerGas(n, node.signers[0]));
  const transfers = await transferGas(node.signers);
  const report = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: machineInfo(),
    evm: 'hardhat 2.29.1 node, hardfork osaka (P-256 precompile at 0x100), solc 0.8.37 via-IR, optimizer 200 runs',
    samples: UPDATES,
    headerUpdate: headers,
    transfer: transfers,
  };
  writeReport('evm-gas', report);
} finally {
  await node.stop();
}
