/** A counter: `increment` adds to it (1 by default), `get` reads it. */
import type { Context } from 'archipelago/contract';

export function increment(ctx: Context, args: { by?: number } | null): number {
  const by = args?.by ?? 1;
  ctx.require(Number.isSafeInteger(by) && by > 0, 'by must be a positive integer');
  const count = (ctx.state.get<number>('count') ?? 0) + by;
  ctx.state.set('count', count);
  ctx.emit('Incremented', { by, count });
  return count;
}

export function get(ctx: Context): number {
  return ctx.state.get<number>('count') ?? 0;
}
