/**
 * `relay`: several relayer messages (client updates, receives, acks, timeouts) in one tx, as a
 * Cosmos relayer puts an update and the packets it proves into one multi-message tx. One tx
 * instead of an update tx plus one tx per packet lets the proofs of a block land in the next
 * block of the other chain (an update committed first would cost a block of its own).
 *
 * Unlike a Cosmos tx, a batch is not all-or-nothing: each message runs under its own savepoint
 * and a refused one (a packet another relayer delivered first, say) drops only its own writes
 * and events. Relayers race by design, and one lost race must not undo the other deliveries.
 * Messages run in order, so an update placed first serves the proofs after it. Gas ends the
 * whole tx, as everywhere.
 */
import { ArchiError } from '../../../types/errors.ts';
import type { CallContext, NativeMethod } from '../../context.ts';
import { argsObject, onlyFields } from '../args.ts';
import { attestedMethods } from './attested-client.ts';
import { clientMethods } from './client.ts';
import { packetMethods } from './packets.ts';

/** Most messages one `relay` tx carries (the tx size limit usually binds first). */
export const MAX_RELAY_MESSAGES = 100;

/** The methods a batch may carry: the ones a relayer sends, nothing that sends a packet. */
const RELAYABLE: Readonly<Record<string, NativeMethod>> = {
  updateClient: clientMethods.updateClient,
  // Attestations before the packets they serve, as updates before proofs.
  attest: attestedMethods.attest,
  recvPacket: packetMethods.recvPacket,
  acknowledgePacket: packetMethods.acknowledgePacket,
  timeoutPacket: packetMethods.timeoutPacket,
};

/** What one message of a batch did. */
export type RelayResult =
  | { method: string; ok: true; result: unknown }
  | { method: string; ok: false; code: string; message: string };

function message(v: unknown, i: number): { method: NativeMethod; name: string; args: unknown } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ArchiError('INVALID_ARGS', `relay: msgs[${i}] must be {method, args}`);
  }
  const m = v as Record<string, unknown>;
  onlyFields(m, ['method', 'args'], `relay: msgs[${i}]`);
  const name = m.method;
  if (typeof name !== 'string' || !Object.hasOwn(RELAYABLE, name)) {
    throw new ArchiError(
      'INVALID_ARGS',
      `relay: msgs[${i}].method must be one of ${Object.keys(RELAYABLE).join(', ')}`,
    );
  }
  return { method: RELAYABLE[name], name, args: m.args };
}

function relay(ctx: CallContext, args: unknown): { results: RelayResult[] } {
  const a = argsObject(args);
  onlyFields(a, ['msgs'], 'relay');
  const msgs = a.msgs;
  if (!Array.isArray(msgs) || msgs.length === 0 || msgs.length > MAX_RELAY_MESSAGES) {
    throw new ArchiError(
      'INVALID_ARGS',
      `relay: msgs must be a list of 1..${MAX_RELAY_MESSAGES} messages`,
    );
  }
  // Every message is checked for shape before any runs: a malformed batch changes nothing.
  const parsed = msgs.map(message);
  const results = parsed.map(({ method, name, args: margs }): RelayResult => {
    const r = ctx.savepoint(() => method.run(ctx, margs));
    return r.ok
      ? { method: name, ok: true, result: r.value }
      : { method: name, ok: false, code: r.error.code, message: r.error.message };
  });
  return { results };
}

/** The `relay` method of the `ibc` contract. */
export const relayMethods: Record<string, NativeMethod> = {
  relay: { write: true, run: relay },
};
