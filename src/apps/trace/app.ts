/** The trace app: product traceability and anti-counterfeiting (docs/apps/trace.md). */
import { fileURLToPath } from 'node:url';
import type { AppSpec } from '../types.ts';
import { TRACE_CONTRACT } from './rules.ts';

export const traceApp: AppSpec = {
  name: 'trace',
  title:
    'product traceability: batches, serials, lifecycle events, anti-counterfeit codes, recalls',
  contracts: [
    {
      name: TRACE_CONTRACT,
      source: fileURLToPath(new URL('../../../contracts/apps/trace.ts', import.meta.url)),
    },
  ],
  docs: 'docs/apps/trace.md',
};
