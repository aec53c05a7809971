/** Test fixtures for the SDK: org identities on disk and a block whose header commits to a state tree. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, decode, encode, HeaderSchema } from '../../src/codec/index.ts';
import { type CryptoProfile, getProfile } from '../../src/crypto/profile.ts';
import { certToPem, issueCertificate } from '../../src/crypto/x509.ts';
import type { BlockJson, ProvenRead } from '../../src/sdk/types.ts';
import { MemoryNodeStore } from '../../src/state/memory-nodes.ts';
import { proofToJson } from '../../src/state/proof.ts';
import { EMPTY_ROOT, SparseMerkleTree } from '../../src/state/smt.ts';
import { headerToJson } from '../../src/types/block.ts';
import { hex } from '../../src/types/hex.ts';
import { utf8Bytes } from '../../src/types/json.ts';

export const PROFILES = ['standard', 'gm'] as const;

/** A fresh temp directory. */
export function tempDir(prefix = 'archi-sdk-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface UserFiles {
  dir: string;
  keyPath: string;
  certPath: string;
  pubPath: string;
  keyPem: string;
  certPem: string;
  publicKey: Uint8Array;
  certDer: Uint8Array;
}

/** Writes a CA-issued user (key.pem, cert.pem, public.hex) under root/orgs/org/users/user. */
export function writeUser(
  profile: CryptoProfile,
  root: string,
  org: string,
  user: string,
  role = 'admin',
): UserFiles {
  const now = Date.now();
  const validity = { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 86_400_000) };
  const ca = profile.generateKeyPair();
  const kp = profile.generateKeyPair();
  const certDer = issueCertificate({
    profile,
    issuer: profile.signerFromPem(ca.privateKeyPem),
    issuerName: { O: org, CN: `ca.${org}` },
    subjectName: { O: org, OU: role, CN: `${user}.${org}` },
    subjectPublicKey: kp.publicKey,
    ...validity,
    isCA: false,
  });
  const dir = join(root, 'orgs', org, 'users', user);
  mkdirSync(dir, { recursive: true });
  const certPem = certToPem(certDer);
  const files = {
    dir,
    keyPath: join(dir, 'key.pem'),
    certPath: join(dir, 'cert.pem'),
    pubPath: join(dir, 'public.hex'),
  };
  writeFileSync(files.keyPath, kp.privateKeyPem);
  writeFileSync(files.certPath, certPem);
  writeFileSync(files.pubPath, `${hex(kp.publicKey)}\n`);
  return { ...files, keyPem: kp.privateKeyPem, certPem, publicKey: kp.publicKey, certDer };
}

export interface ProofFixture {
  profile: CryptoProfile;
  block: BlockJson;
  reads: ProvenRead[];
  stateRoot: string;
  height: number;
  headerBytes: Uint8Array;
}

/** Encoded header bytes for a height and state root. */
export function headerBytesFor(chainId: string, height: number, stateRoot: Uint8Array): Uint8Array {
  return encode(
    HeaderSchema,
    create(HeaderSchema, {
      chainId,
      height: BigInt(height),
      time: 1_700_000_000_000n,
      stateRoot,
      txRoot: new Uint8Array(32),
      resultsRoot: new Uint8Array(32),
      validatorsHash: new Uint8Array(32),
    }),
  );
}

/** A block JSON as the node would serve it for these header bytes. */
export function blockJsonFor(profile: CryptoProfile, headerBytes: Uint8Array): BlockJson {
  const header = headerToJson(decode(HeaderSchema, headerBytes));
  return {
    height: header.height,
    hash: hex(profile.hash(headerBytes)),
    header,
    headerBytes: hex(headerBytes),
    txs: [],
    lastCommit: null,
    commit: null,
  };
}

/** State with a few keys, a block at `height` committing to it, and proofs for present and absent keys. */
export function proofFixture(profileName: string, height = 7): ProofFixture {
  const profile = getProfile(profileName);
  const hash = (d: Uint8Array): Uint8Array => profile.hash(d);
  const nodes = new MemoryNodeStore();
  const tree = new SparseMerkleTree(hash, nodes);
  const state = new Map<string, string>();
  for (let i = 0; i < 20; i++) state.set(`kv/key${i}`, JSON.stringify({ n: i }));
  state.set('token/supply', '1000');
  const { root, newNodes } = tree.update(
    EMPTY_ROOT,
    [...state].map(([k, v]) => ({ key: utf8Bytes(k), value: utf8Bytes(v) })),
  );
  nodes.putAll(newNodes);
  const prove = (key: string): ProvenRead => {
    const v = state.get(key);
    return {
      key,
      value: v === undefined ? null : hex(utf8Bytes(v)),
      proof: proofToJson(tree.prove(root, utf8Bytes(key))),
    };
  };
  const reads = [prove('kv/key3'), prove('token/supply'), prove('kv/missing'), prove('kv/key17')];
  const headerBytes = headerBytesFor('test-chain', height, root);
  return {
    profile,
    block: blockJsonFor(profile, headerBytes),
    reads,
    stateRoot: hex(root),
    height,
    headerBytes,
  };
}
