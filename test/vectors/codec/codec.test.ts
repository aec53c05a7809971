/** Frozen vectors: a change to tx or header encoding, tx ids or block hashes shows here. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { create, encode, HeaderSchema, TxPayloadSchema } from '../../../src/codec/index.ts';
import { getProfile } from '../../../src/crypto/profile.ts';
import { hex, unhex } from '../../../src/types/hex.ts';
import { jsonBytes } from '../../../src/types/json.ts';
import { decodeTx } from '../../../src/types/tx.ts';
import { VECTOR_HEADER, VECTOR_TX } from './fixtures.ts';

const vectors = JSON.parse(readFileSync(new URL('./codec.json', import.meta.url), 'utf8'));

for (const name of ['standard', 'gm'] as const) {
  const v = vectors[name];
  const profile = getProfile(name);

  test(`${name}: frozen tx decodes, keeps its id and its signature verifies`, () => {
    const tx = decodeTx(profile, unhex(v.txBytes));
    assert.equal(tx.txIdHex, v.txId);
    assert.equal(tx.payload.contract, VECTOR_TX.contract);
    assert.equal(profile.verify(unhex(v.publicKey), tx.tx.payload, tx.tx.signature), true);
    // Encoding the same fields today gives the same payload bytes.
    const again = encode(
      TxPayloadSchema,
      create(TxPayloadSchema, {
        chainId: VECTOR_TX.chainId,
        sender: { org: 'org1', publicKey: unhex(v.publicKey) },
        nonce: VECTOR_TX.nonce,
        contract: VECTOR_TX.contract,
        method: VECTOR_TX.method,
        args: jsonBytes(VECTOR_TX.args),
        gasLimit: VECTOR_TX.gasLimit,
        timestamp: BigInt(VECTOR_TX.timestamp!),
      }),
    );
    assert.equal(hex(again), hex(tx.tx.payload));
    const tampered = Uint8Array.from(tx.tx.payload);
    tampered[tampered.length - 1] ^= 1;
    assert.equal(profile.verify(unhex(v.publicKey), tampered, tx.tx.signature), false);
  });

  test(`${name}: frozen header encodes to the same bytes and block hash`, () => {
    const bytes = encode(HeaderSchema, create(HeaderSchema, VECTOR_HEADER));
    assert.equal(hex(bytes), v.headerBytes);
    assert.equal(hex(profile.hash(bytes)), v.blockHash);
  });
}
