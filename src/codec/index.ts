/**
 * Wire and storage encoding: thin wrappers over the generated protobuf schema that turn
 * decoding failures into a typed error, so callers never see a raw protobuf exception.
 */
import { type DescMessage, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import { ArchiError } from '../errors/index.ts';

export * from './gen/archipelago/v1/chain_pb.ts';
export * from './gen/archipelago/v1/consensus_pb.ts';
export * from './gen/archipelago/v1/p2p_pb.ts';
export { create } from '@bufbuild/protobuf';

/** Encode a message to its protobuf bytes. */
export function encode<Desc extends DescMessage>(
  schema: Desc,
  msg: MessageShape<Desc>,
): Uint8Array {
  return toBinary(schema, msg);
}

/** Decode protobuf bytes, throwing ArchiError(code) on malformed input. */
export function decode<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  code: 'TX_MALFORMED' | 'BAD_REQUEST' | 'INTERNAL' = 'BAD_REQUEST',
): MessageShape<Desc> {
  try {
    return fromBinary(schema, bytes);
  } catch (e) {
    throw new ArchiError(code, `cannot decode ${schema.name}: ${(e as Error).message}`);
  }
}
