/** The `archi` command: parses arguments, runs one command, prints errors as one line. */
import { Command, CommanderError } from 'commander';
import { ArchiError } from '../types/errors.ts';
import { register as registerApp } from './commands/app.ts';
import { register as registerApps } from './commands/apps.ts';
import { register as registerBench } from './commands/bench.ts';
import { register as registerBridge } from './commands/bridge.ts';
import { register as registerCbdc } from './commands/cbdc.ts';
import { register as registerChain } from './commands/chain.ts';
import { register as registerClient } from './commands/client.ts';
import { register as registerContract } from './commands/contract.ts';
import { register as registerData } from './commands/data.ts';
import { register as registerEvidence } from './commands/evidence.ts';
import { register as registerEvm } from './commands/evm.ts';
import { register as registerGateway } from './commands/gateway.ts';
import { register as registerGov } from './commands/gov.ts';
import { register as registerIbc } from './commands/ibc.ts';
import { register as registerId } from './commands/id.ts';
import { register as registerIdcode } from './commands/idcode.ts';
import { register as registerInit } from './commands/init.ts';
import { register as registerIot } from './commands/iot.ts';
import { register as registerNode } from './commands/node.ts';
import { register as registerOrg } from './commands/org.ts';
import { register as registerPack } from './commands/pack.ts';
import { register as registerRelay } from './commands/relay.ts';
import { register as registerTenant } from './commands/tenant.ts';
import { register as registerTrace } from './commands/trace.ts';
import { register as registerUp } from './commands/up.ts';

/** Build the program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('archi')
    .description('Archipelago: consortium chains you can run, use, break and restart')
    .version('0.1.0')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (str, write) => write(`${str.trimEnd()}\n`) });
  registerInit(program);
  registerNode(program);
  registerUp(program);
  registerClient(program);
  registerContract(program);
  registerBench(program);
  registerEvidence(program);
  registerGov(program);
  registerOrg(program);
  registerChain(program);
  registerPack(program);
  registerId(program);
  registerGateway(program);
  registerTenant(program);
  registerApp(program);
  registerApps(program);
  registerIbc(program);
  registerRelay(program);
  registerIdcode(program);
  registerCbdc(program);
  registerIot(program);
  registerData(program);
  registerTrace(program);
  registerEvm(program);
  registerBridge(program);
  return program;
}

/** Run the CLI with process.argv; sets the exit code. */
export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed its one-line message (or the help text).
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    const line =
      e instanceof ArchiError ? `${e.code}: ${e.message}` : ((e as Error)?.message ?? String(e));
    process.stderr.write(`error: ${line}\n`);
    if (process.env.ARCHI_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}

await main();
