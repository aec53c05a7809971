/** The cbdc app: a two-tier digital currency after the e-CNY design (docs/apps/cbdc.md). */
import { fileURLToPath } from 'node:url';
import type { AppSpec } from '../types.ts';

export const CBDC_CONTRACT = 'cbdc';

/** The label KYC links are sealed under (src/apps/seal.ts); links sealed before keep opening. */
export const CBDC_LINK_SEAL = 'archipelago/cbdc/link/v1';

export const cbdcApp: AppSpec = {
  name: 'cbdc',
  title: 'two-tier digital currency: issuance, operator banks, KYC wallet classes, a regulator',
  contracts: [
    {
      name: CBDC_CONTRACT,
      source: fileURLToPath(new URL('../../../contracts/apps/cbdc.ts', import.meta.url)),
    },
  ],
  docs: 'docs/apps/cbdc.md',
};
