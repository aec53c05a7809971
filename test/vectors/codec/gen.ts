/**
 * Regenerates codec.json, the frozen tx and block vectors. Run only on purpose, when a
 * compatibility break is intended: `node --import tsx test/vectors/codec/gen.ts`.
 */
import { writeFileSync } from 'node:fs';
import { create, encode, HeaderSchema } from '../../../src/codec/index.ts';
import { getProfile } from '../../../src/crypto/profile.ts';
import { hex } from '../../../src/types/hex.ts';
import { buildTx } from '../../../src/types/tx.ts';
import { VECTOR_HEADER, VECTOR_TX } from './fixtures.ts';

const out: Record<string, unknown> = {};
for (const name of ['standard', 'gm'] as const) {
  const profile = getProfile(name);
  const kp = profile.generateKeyPair();
  const signer = profile.signerFromPem(kp.privateKeyPem);
  const tx = buildTx(profile, signer, {
    ...VECTOR_TX,
    sender: { org: 'org1', publicKey: kp.publicKey },
  });
  const header = encode(HeaderSchema, create(HeaderSchema, VECTOR_HEADER));
  out[name] = {
    publicKey: hex(kp.publicKey),
    txBytes: hex(tx.bytes),
    txId: tx.txIdHex,
    headerBytes: hex(header),
    blockHash: hex(profile.hash(header)),
  };
}
writeFileSync(new URL('./codec.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
