/**
 * A name registry: anyone registers a free name and owns it; the owner updates its value,
 * hands it to another account or releases it. Every change is an event.
 */
import type { Context, Value } from 'archipelago/contract';

interface Entry {
  owner: string;
  value: Value;
  updatedAt: number;
  [key: string]: Value;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function nameOf(ctx: Context, v: unknown): string {
  ctx.require(typeof v === 'string' && NAME.test(v), 'name must match [a-z0-9][a-z0-9._-]{0,63}');
  return v as string;
}

function owned(ctx: Context, name: string): Entry {
  const e = ctx.state.get<Entry>(`name/${name}`);
  ctx.require(e !== undefined, `${name} is not registered`);
  ctx.require(e.owner === ctx.sender.id, `${name} belongs to ${e.owner}`);
  return e;
}

/** Register a free name with a value; the sender owns it. */
export function register(ctx: Context, args: { name: string; value?: Value }): Entry {
  const name = nameOf(ctx, args?.name);
  ctx.require(!ctx.state.has(`name/${name}`), `${name} is already registered`);
  const entry: Entry = {
    owner: ctx.sender.id,
    value: args.value ?? null,
    updatedAt: ctx.block.height,
  };
  ctx.state.set(`name/${name}`, entry);
  ctx.emit('Registered', { name, owner: entry.owner });
  return entry;
}

/** Change the value of a name the sender owns. */
export function update(ctx: Context, args: { name: string; value: Value }): Entry {
  const name = nameOf(ctx, args?.name);
  const entry: Entry = {
    ...owned(ctx, name),
    value: args.value ?? null,
    updatedAt: ctx.block.height,
  };
  ctx.state.set(`name/${name}`, entry);
  ctx.emit('Updated', { name });
  return entry;
}

/** Hand a name the sender owns to another account. */
export function transfer(ctx: Context, args: { name: string; to: string }): Entry {
  const name = nameOf(ctx, args?.name);
  ctx.require(
    typeof args.to === 'string' && /^[0-9a-f]{40}$/.test(args.to),
    'to must be an account id',
  );
  const entry: Entry = { ...owned(ctx, name), owner: args.to, updatedAt: ctx.block.height };
  ctx.state.set(`name/${name}`, entry);
  ctx.emit('Transferred', { name, from: ctx.sender.id, to: args.to });
  return entry;
}

/** Give up a name the sender owns. */
export function release(ctx: Context, args: { name: string }): null {
  const name = nameOf(ctx, args?.name);
  owned(ctx, name);
  ctx.state.delete(`name/${name}`);
  ctx.emit('Released', { name });
  return null;
}

/** The entry of a name, or null. */
export function lookup(ctx: Context, args: { name: string }): Entry | null {
  return ctx.state.get<Entry>(`name/${nameOf(ctx, args?.name)}`) ?? null;
}

/** Registered names starting with `prefix` (at most `limit`, default 100). */
export function list(
  ctx: Context,
  args: { prefix?: string; limit?: number } | null,
): Array<{ name: string; owner: string }> {
  return ctx.state
    .range<Entry>(`name/${args?.prefix ?? ''}`, args?.limit ?? 100)
    .map(([k, e]) => ({ name: k.slice('name/'.length), owner: e.owner }));
}
