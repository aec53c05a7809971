/**
 * Headers and commits of a real network signed by hand with its validators' node keys (the
 * PEM files `archi init` wrote): what a retired validator set could produce after a set change,
 * for tests that show the EVM light client refuses it. The test/evm/evm-fixture.ts helpers do
 * the same for in-process islands.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CommitSchema,
  create,
  decode,
  encode,
  HeaderSchema,
  VoteType,
} from '../../src/codec/index.ts';
import { address, getProfile, type Signer } from '../../src/crypto/profile.ts';
import type { HeaderInput } from '../../src/evm/encode.ts';
import { validatorSetHash } from '../../src/evm/encode.ts';
import { hex, unhex } from '../../src/types/hex.ts';
import type { ValidatorJson } from '../../src/types/rpc-json.ts';
import { voteBodyBytes } from '../../src/types/vote.ts';

const profile = getProfile('standard');

/** A validator's consensus key, from DIR/nodes/NAME/node.key.pem. */
export function nodeKey(dir: string, name: string): { signer: Signer; address: string } {
  const signer = profile.signerFromPem(
    readFileSync(join(dir, 'nodes', name, 'node.key.pem'), 'utf8'),
  );
  return { signer, address: address(profile, signer.publicKey) };
}

/** A commit of `headerBytes` (hex) signed by `signers` at the header's own height and time. */
export function commitOf(
  headerBytes: string,
  signers: Array<{ signer: Signer; address: string }>,
): string {
  const bytes = unhex(headerBytes.replace(/^0x/, ''));
  const h = decode(HeaderSchema, bytes);
  const blockHash = profile.hash(bytes);
  const signatures = signers.map((v) => {
    const validator = unhex(v.address);
    const body = voteBodyBytes(
      h.chainId,
      VoteType.PRECOMMIT,
      Number(h.height),
      0,
      blockHash,
      Number(h.time),
      validator,
    );
    return { validator, timestamp: h.time, signature: v.signer.sign(body) };
  });
  return hex(
    encode(
      CommitSchema,
      create(CommitSchema, { height: h.height, round: 0, blockHash, signatures }),
    ),
  );
}

/**
 * `real` with its state root replaced and both set hashes naming `set`, signed by `signers`:
 * a header the holders of `set` could make once the chain moved on without them.
 */
export function forgeHeader(
  real: string,
  set: ValidatorJson[],
  signers: Array<{ signer: Signer; address: string }>,
): HeaderInput {
  const h = decode(HeaderSchema, unhex(real.replace(/^0x/, '')));
  const setHash = unhex(validatorSetHash(set));
  h.stateRoot = new Uint8Array(32).fill(0xee);
  h.validatorsHash = setHash;
  h.nextValidatorsHash = setHash;
  const header = hex(encode(HeaderSchema, h));
  return { header, commit: commitOf(header, signers), validators: set };
}
