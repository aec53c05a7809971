/**
 * The registered reference applications. Adding an app: its contracts in contracts/apps/,
 * its spec in src/apps/<name>/app.ts, one entry here (docs/apps/README.md).
 */
import { ArchiError } from '../types/errors.ts';
import { cbdcApp } from './cbdc/app.ts';
import { datashareApp } from './datashare/app.ts';
import { idcodeApp } from './idcode/app.ts';
import { iotApp } from './iot/app.ts';
import { traceApp } from './trace/app.ts';
import type { AppSpec } from './types.ts';

/** Every app, in the order `archi up --apps` deploys them. */
export const APPS: readonly AppSpec[] = [idcodeApp, cbdcApp, iotApp, traceApp, datashareApp];

/** The app named `name`; INVALID_ARGS naming the known apps otherwise. */
export function findApp(name: string): AppSpec {
  const app = APPS.find((a) => a.name === name);
  if (!app) {
    throw new ArchiError(
      'INVALID_ARGS',
      `no app named ${JSON.stringify(name)} (apps: ${APPS.map((a) => a.name).join(', ')})`,
    );
  }
  return app;
}
