/** The idcode app: city identifier codes (docs/apps/idcode.md). */
import { fileURLToPath } from 'node:url';
import type { AppSpec } from '../types.ts';

export const IDCODE_CONTRACT = 'idcode';

export const idcodeApp: AppSpec = {
  name: 'idcode',
  title: 'city identifier codes (CIDIS): MA.156.1301.02 and its hierarchy',
  contracts: [
    {
      name: IDCODE_CONTRACT,
      source: fileURLToPath(new URL('../../../contracts/apps/idcode.ts', import.meta.url)),
    },
  ],
  docs: 'docs/apps/idcode.md',
};
