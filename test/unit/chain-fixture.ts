/** An in-process chain on real LMDB files in a temp dir, with a generated org CA and members. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Chain } from '../../src/chain/chain.ts';
import { type Commit, CommitSchema, create, VoteType } from '../../src/codec/index.ts';
import { address, type CryptoProfile, getProfile, type Signer } from '../../src/crypto/profile.ts';
import { certToPem, issueCertificate } from '../../src/crypto/x509.ts';
import { type BuildChainOptions, buildChain } from '../../src/node/build-chain.ts';
import { ChainStore } from '../../src/storage/chain-store.ts';
import { type Genesis, validateGenesis } from '../../src/types/genesis.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import { buildTx, type TxFields } from '../../src/types/tx.ts';
import { voteBodyBytes } from '../../src/types/vote.ts';

export interface Member {
  signer: Signer;
  cert: Uint8Array;
  address: string;
  send(chain: Chain, f: Omit<TxFields, 'chainId' | 'sender'>): Promise<string>;
}

export interface Fixture {
  profile: CryptoProfile;
  genesis: Genesis;
  admin: Member;
  client: Member;
  /** Every org of the genesis, org1 first (admin and client above are org1's). */
  orgs: OrgMembers[];
  nodeSigner: Signer;
  /** The node signer's validator address. */
  validator: Uint8Array;
  dirs: string[];
  /** Open a chain in `dir` (a new temp dir when absent); `build` adds options of buildChain. */
  open(dir?: string, build?: Partial<BuildChainOptions>): Chain;
  /** Cut and commit one block from the pool at `time`. */
  commit(chain: Chain, time: number): ReturnType<Chain['proposeBlock']>;
  /** The commit of `blockHash` at `height`: the one validator's precommit, signed at `time`. */
  signedCommit(chain: Chain, height: number, blockHash: Uint8Array, time: number): Commit;
  cleanup(): Promise<void>;
}

const T0 = 1_700_000_000_000;

/** One organization of a fixture: its id, admin and client. */
export interface OrgMembers {
  id: string;
  caCertPem: string;
  admin: Member;
  client: Member;
  /** A new member of `role` certified by the org's CA (e.g. `common` for a wallet key). */
  member(role: string): Member;
}

/** A generated org CA with an admin and a client member (whose txs name `chainId`). */
export function makeOrg(profile: CryptoProfile, id: string, chainId = 'unit'): OrgMembers {
  const caKeys = profile.generateKeyPair();
  const ca = profile.signerFromPem(caKeys.privateKeyPem);
  const caName = { O: id, CN: `ca.${id}` };
  const caCert = issueCertificate({
    profile,
    issuer: ca,
    issuerName: caName,
    subjectName: caName,
    subjectPublicKey: caKeys.publicKey,
    notBefore: new Date(T0 - 86_400_000),
    notAfter: new Date(T0 + 3650 * 86_400_000),
    isCA: true,
  });
  const member = (role: string): Member => {
    const kp = profile.generateKeyPair();
    const signer = profile.signerFromPem(kp.privateKeyPem);
    const cert = issueCertificate({
      profile,
      issuer: ca,
      issuerName: caName,
      subjectName: { O: id, OU: role, CN: `${role}.${id}` },
      subjectPublicKey: kp.publicKey,
      notBefore: new Date(T0 - 86_400_000),
      notAfter: new Date(T0 + 3650 * 86_400_000),
      isCA: false,
    });
    return {
      signer,
      cert,
      address: address(profile, kp.publicKey),
      send(chain, f) {
        return chain.submitTx(
          buildTx(profile, signer, {
            ...f,
            chainId,
            sender: { org: id, cert },
            timestamp: Date.now(),
          }).bytes,
        );
      },
    };
  };
  return {
    id,
    caCertPem: certToPem(caCert),
    admin: member('admin'),
    client: member('client'),
    member,
  };
}

/**
 * A genesis in cert mode with an admin, a client and a node key: one org (org1) by default,
 * or `orgs` orgs org1..orgN (each with its admin and client in `Fixture.orgs`; the node
 * belongs to org1). Extra genesis fields (e.g. governancePolicy) go in `genesis`.
 */
export function makeFixture(
  profileName: 'standard' | 'gm',
  opts: { orgs?: number; genesis?: Record<string, unknown> } = {},
): Fixture {
  const profile = getProfile(profileName);
  const chainId = typeof opts.genesis?.chainId === 'string' ? opts.genesis.chainId : 'unit';
  const orgs = Array.from({ length: opts.orgs ?? 1 }, (_, i) =>
    makeOrg(profile, `org${i + 1}`, chainId),
  );
  const nodeKeys = profile.generateKeyPair();
  const genesis = validateGenesis({
    chainId: 'unit',
    genesisTime: T0,
    crypto: profileName,
    identityMode: 'cert',
    consensus: 'solo',
    orgs: orgs.map((o) => ({ id: o.id, caCert: o.caCertPem })),
    validators: [{ name: 'node1', org: 'org1', publicKey: hex(nodeKeys.publicKey), power: 10 }],
    ...opts.genesis,
  });
  const dirs: string[] = [];
  const chains: Chain[] = [];
  const nodeSigner = profile.signerFromPem(nodeKeys.privateKeyPem);
  const validator = unhex(address(profile, nodeSigner.publicKey));
  return {
    profile,
    genesis,
    admin: orgs[0].admin,
    client: orgs[0].client,
    orgs,
    nodeSigner,
    validator,
    dirs,
    open(dir, build) {
      const d = dir ?? mkdtempSync(join(tmpdir(), 'archi-unit-'));
      if (!dirs.includes(d)) dirs.push(d);
      const chain = buildChain({ ...build, profile, store: ChainStore.open(d), genesis });
      chains.push(chain);
      return chain;
    },
    commit(chain, time) {
      const p = chain.proposeBlock(time, new Uint8Array(20));
      chain.commitBlock(
        p,
        create(CommitSchema, { height: BigInt(p.height), blockHash: p.blockHash }),
      );
      return p;
    },
    signedCommit(chain, height, blockHash, time) {
      const signature = nodeSigner.sign(
        voteBodyBytes(chain.chainId, VoteType.PRECOMMIT, height, 0, blockHash, time, validator),
      );
      return create(CommitSchema, {
        height: BigInt(height),
        round: 0,
        blockHash,
        signatures: [{ validator, timestamp: BigInt(time), signature }],
      });
    },
    async cleanup() {
      // close() is idempotent enough: a chain closed by its test closes again quietly.
      await Promise.all(chains.map((c) => c.close().catch(() => {})));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
