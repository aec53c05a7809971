/**
 * Whose public keys a grant seals the data key to, read from the chain only, so a provider
 * needs nothing from the grantee off chain: on key chains the keys the organization
 * registered in the chain config; on certificate chains the certificates its users enrolled
 * in the datashare contract, each checked here: issued by the organization's CA in the chain
 * config, for that organization and user, a member role, valid now, not revoked, and its key
 * hashing to the address of the signer that enrolled it.
 */
import { address, type CryptoProfile } from '../../crypto/profile.ts';
import { isValidAt, parseCertificate, verifyCertificate } from '../../crypto/x509.ts';
import type { ArchiClient } from '../../sdk/client.ts';
import { codedError } from '../../sdk/errors.ts';
import { hex, unhex } from '../../types/hex.ts';
import type { ChainConfigJson } from '../../types/rpc-json.ts';
import { Datashare } from './client.ts';
import type { MemberRecord } from './rules.ts';

/** A user a grant can seal the key to. */
export interface Recipient {
  user: string;
  publicKey: Uint8Array;
}

const ROLES = ['admin', 'client'];

/** Why an enrolled certificate cannot be used, or null when it can. */
export function enrolledKeyProblem(
  profile: CryptoProfile,
  config: ChainConfigJson,
  rec: MemberRecord,
  now = Date.now(),
): string | null {
  const org = config.orgs.find((o) => o.id === rec.org);
  if (!org?.caCert) return `${rec.org} has no CA on this chain`;
  let cert: ReturnType<typeof parseCertificate>;
  let der: Uint8Array;
  try {
    der = unhex(rec.cert, 'certificate');
    cert = parseCertificate(der);
  } catch (e) {
    return `its certificate does not parse (${(e as Error).message})`;
  }
  if (cert.isCA || !verifyCertificate(profile, cert, parseCertificate(unhex(org.caCert, 'CA')))) {
    return `its certificate is not issued by the CA of ${rec.org}`;
  }
  if (cert.subject.O !== rec.org || cert.subject.CN !== rec.user) {
    return `its certificate names ${cert.subject.CN} of ${cert.subject.O}`;
  }
  if (!ROLES.includes(cert.subject.OU ?? '')) return `its role ${cert.subject.OU} may not fetch`;
  if (!isValidAt(cert, now)) return 'its certificate is outside its validity';
  if (config.revokedCerts.includes(hex(profile.hash(der)))) return 'its certificate is revoked';
  if (address(profile, cert.publicKey) !== rec.id) {
    return 'its certificate was enrolled by a signer holding another key';
  }
  return null;
}

/**
 * The keys of `org`'s users (only `user` when given) a grant can seal to; DATA_UNKNOWN_ORG for
 * an organization the chain lacks, DATA_NO_KEY when no usable key is on chain.
 */
export async function recipientsOf(
  client: ArchiClient,
  profile: CryptoProfile,
  org: string,
  user?: string,
): Promise<Recipient[]> {
  const config = await client.config();
  const entry = config.orgs.find((o) => o.id === org);
  if (!entry) throw codedError('DATA_UNKNOWN_ORG', `${org} is not an organization of this chain`);
  const who = user === undefined ? org : `${org}/${user}`;
  if (config.identityMode === 'key') {
    const found = entry.keys
      .filter((k) => ROLES.includes(k.role) && (user === undefined || k.name === user))
      .map((k) => ({ user: k.name, publicKey: unhex(k.publicKey, 'public key') }));
    if (found.length === 0) {
      throw codedError('DATA_NO_KEY', `${who} has no admin or client key registered on chain`);
    }
    return found;
  }
  // A user named USER in DIR/orgs/ORG/users/USER carries the certificate CN USER.ORG.
  const enrolled = (await new Datashare(client).members(org)).filter(
    (m) => user === undefined || m.user === user || m.user === `${user}.${org}`,
  );
  const out: Recipient[] = [];
  const problems: string[] = [];
  for (const rec of enrolled) {
    const problem = enrolledKeyProblem(profile, config, rec);
    if (problem === null) {
      out.push({
        user: rec.user,
        publicKey: parseCertificate(unhex(rec.cert, 'certificate')).publicKey,
      });
    } else problems.push(`${rec.user}: ${problem}`);
  }
  if (out.length === 0) {
    throw codedError(
      'DATA_NO_KEY',
      enrolled.length === 0
        ? `${who} has enrolled no certificate (the grantee runs: archi data enroll --as ${user === undefined ? `${org}/USER` : who})`
        : `no enrolled certificate of ${who} can be used (${problems.join('; ')})`,
    );
  }
  return out;
}
