/** `kv`: a plain key-value store; which roles may write is part of the chain config. */
import { ArchiError } from '../../types/errors.ts';
import { jsonBytes, parseJsonBytes } from '../../types/json.ts';
import type { CallContext, NativeContract } from '../context.ts';
import { argsObject, str } from './args.ts';

function requireWriter(ctx: CallContext): void {
  if (!ctx.config.kvWriteRoles.includes(ctx.sender.role)) {
    throw new ArchiError('TX_FORBIDDEN', `role ${ctx.sender.role} may not write kv`);
  }
}

export const kvContract: NativeContract = {
  name: 'kv',
  methods: {
    put: {
      write: true,
      run(ctx, args) {
        requireWriter(ctx);
        const a = argsObject(args);
        const key = str(a, 'key');
        if (!('value' in a)) throw new ArchiError('INVALID_ARGS', 'value is required');
        ctx.set(key, jsonBytes(a.value, 'value', 'value'));
        ctx.emit('put', { key });
        return null;
      },
    },
    delete: {
      write: true,
      run(ctx, args) {
        requireWriter(ctx);
        const key = str(argsObject(args), 'key');
        const existed = ctx.get(key) !== undefined;
        ctx.delete(key);
        if (existed) ctx.emit('delete', { key });
        return existed;
      },
    },
    get: {
      write: false,
      run(ctx, args) {
        const v = ctx.get(str(argsObject(args), 'key'));
        return v === undefined ? null : parseJsonBytes(v, 'value', 'stored value');
      },
    },
  },
};
