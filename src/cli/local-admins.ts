/**
 * The admins a local network's directory holds, for commands that drive governance votes
 * themselves on a local network (`archi apps deploy`, `archi idcode root`) and print what
 * others must do on a real one.
 */
import type { ArchiClient } from '../sdk/client.ts';
import type { Identity } from '../sdk/identity.ts';
import type { ClientContext } from './client-context.ts';

/**
 * The admins under DIR/orgs whose organizations are members of the context's chain: `first`
 * (an ORG/USER spec) leads when given, then the others in org order. A half-made identity
 * directory is skipped.
 */
export async function localAdmins(
  ctx: ClientContext,
  client: ArchiClient,
  first?: string,
): Promise<Identity[]> {
  const info = await ctx.chainInfo(client);
  const members = new Set((await client.config()).orgs.map((o) => o.id));
  const out: Identity[] = [];
  if (first !== undefined) out.push(ctx.identity(first, info));
  for (const spec of ctx.knownIdentities(info.crypto)) {
    const [org, user] = spec.split('/');
    if (user !== 'admin' || !members.has(org) || out.some((a) => a.org === org)) continue;
    try {
      out.push(ctx.identity(spec, info));
    } catch {
      // a half-made identity directory is no admin to vote with
    }
  }
  return out;
}
