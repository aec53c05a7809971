/** The datashare app: encrypted datasets shared by on-chain grants (docs/apps/datashare.md). */
import { fileURLToPath } from 'node:url';
import type { AppSpec } from '../types.ts';
import { DATA_CONTRACT } from './rules.ts';

export const datashareApp: AppSpec = {
  name: 'datashare',
  title: 'trusted data sharing: encrypted datasets, grants with sealed keys, an audit trail',
  contracts: [
    {
      name: DATA_CONTRACT,
      source: fileURLToPath(new URL('../../../contracts/apps/datashare.ts', import.meta.url)),
    },
  ],
  docs: 'docs/apps/datashare.md',
};
