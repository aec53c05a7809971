/** The iot app: signed device readings over MQTT, anchored as Merkle roots (docs/apps/iot.md). */
import { fileURLToPath } from 'node:url';
import type { AppSpec } from '../types.ts';
import { IOT_CONTRACT } from './rules.ts';

export const iotApp: AppSpec = {
  name: 'iot',
  title: 'IoT readings over MQTT: signing devices, batches anchored as Merkle roots, proofs',
  contracts: [
    {
      name: IOT_CONTRACT,
      source: fileURLToPath(new URL('../../../contracts/apps/iot.ts', import.meta.url)),
    },
  ],
  docs: 'docs/apps/iot.md',
};
