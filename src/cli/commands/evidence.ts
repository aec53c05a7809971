/** `archi evidence list`: committed double-sign evidence (from the `evidence` contract). */
import type { Command } from 'commander';
import type { EvidenceJson } from '../../types/evidence.ts';
import { addTargetOptions, ClientContext, cliOutput, type TargetFlags } from '../client-context.ts';

/** Register `archi evidence ...`. */
export function register(program: Command): void {
  const evidence = program
    .command('evidence')
    .description('double-sign evidence committed on chain');
  addTargetOptions(evidence.command('list').description('list committed evidence')).action(
    async (flags: TargetFlags) => {
      const answer = await ClientContext.resolve(flags).withNode((c) =>
        c.query('evidence', 'list', {}),
      );
      const list = answer.result as Array<EvidenceJson & { committedAt: number }>;
      if (flags.json) {
        cliOutput.write(`${JSON.stringify({ height: answer.height, evidence: list }, null, 2)}\n`);
        return;
      }
      if (list.length === 0) {
        cliOutput.write(`no evidence committed (height ${answer.height})\n`);
        return;
      }
      for (const e of list) {
        cliOutput.write(
          `${e.name} (${e.validator}) double-signed ${e.type} at ${e.height}/${e.round}: ${e.blockHashA.slice(0, 16)}… vs ${e.blockHashB.slice(0, 16) || 'nil'}…, committed at ${e.committedAt}\n`,
        );
      }
    },
  );
}
