/** `evidence`: committed double-sign evidence, written by the executor, read by anyone. */
import { parseJsonBytes } from '../../types/json.ts';
import type { NativeContract } from '../context.ts';

export const EVIDENCE_CONTRACT = 'evidence';

export const evidenceContract: NativeContract = {
  name: EVIDENCE_CONTRACT,
  methods: {
    list: {
      write: false,
      run(ctx) {
        return ctx.range('', 1000).map(([, v]) => parseJsonBytes(v, 'value', 'evidence'));
      },
    },
  },
};
