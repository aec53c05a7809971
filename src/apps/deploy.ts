/**
 * Deploying an app's contracts through the chain's lifecycle path: each contract is built,
 * compared with what the chain runs (by code hash) and left alone, deployed or upgraded. A
 * direct `contract_manage` tx when one organization's admin meets the lifecycle policy, else a
 * `contract_deploy` / `contract_upgrade` proposal that the given admins propose and approve
 * (an open proposal for the same code is approved rather than proposed again). With no admin
 * to act, the proposal's args are written to a file for a real network's admins.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CryptoProfile } from '../crypto/profile.ts';
import type { ArchiClient } from '../sdk/client.ts';
import { type ContractMetaJson, Contracts, contractCodeHash } from '../sdk/contracts.ts';
import { Governance, type GovernanceResult } from '../sdk/governance.ts';
import type { Identity } from '../sdk/identity.ts';
import { ArchiError } from '../types/errors.ts';
import { policyMet } from '../types/governance.ts';
import { buildContract } from '../vm/sandbox/build.ts';
import type { AppContract, AppSpec } from './types.ts';

/** What deploying needs: a node of the chain, its profile, who may act, where to write. */
export interface DeployEnv {
  client: ArchiClient;
  profile: CryptoProfile;
  /** Admins of member organizations, the proposer first; none: only write the proposals. */
  admins: Identity[];
  /** Where proposal args are written for others to submit. */
  proposalDir: string;
  timeoutMs?: number;
}

/** What happened to one contract. */
export interface ContractResult {
  app: string;
  contract: string;
  /** unchanged: the chain runs this code already; proposed: approvals missing; printed: written for others. */
  status: 'unchanged' | 'deployed' | 'upgraded' | 'proposed' | 'printed';
  /** What was needed (null when unchanged). */
  action: 'deploy' | 'upgrade' | null;
  codeHash: string;
  /** The version on chain afterwards (null while not deployed). */
  version: number | null;
  /** The chain's lifecycle policy. */
  policy: string;
  proposalId?: number;
  /** Organizations whose approval is still missing (proposed). */
  missing?: string[];
  /** The proposal's args file (printed). */
  file?: string;
}

/** A contract's state on chain against the local build. */
export interface ContractStatus {
  app: string;
  contract: string;
  /** current: runs the local build; outdated: runs other code; missing: not deployed. */
  state: 'current' | 'outdated' | 'missing' | 'frozen' | 'revoked';
  version: number | null;
  deployedHash: string | null;
  localHash: string;
}

/** The bundled code of an app contract, minified: there is less to load on every call. */
export async function appCode(c: AppContract): Promise<string> {
  return (await buildContract(c.source, { minify: true })).code;
}

/** The contract's metadata, or undefined when the chain has none of that name. */
async function deployed(client: ArchiClient, name: string): Promise<ContractMetaJson | undefined> {
  try {
    return await new Contracts(client).info(name);
  } catch (e) {
    if (e instanceof ArchiError && e.code === 'CONTRACT_NOT_FOUND') return undefined;
    throw e;
  }
}

/** Every contract of `app` as the chain has it, against the local build. */
export async function appStatus(
  app: AppSpec,
  client: ArchiClient,
  profile: CryptoProfile,
): Promise<ContractStatus[]> {
  const out: ContractStatus[] = [];
  for (const c of app.contracts) {
    const localHash = contractCodeHash(profile, await appCode(c));
    const meta = await deployed(client, c.name);
    let state: ContractStatus['state'] = 'missing';
    if (meta?.status === 'frozen' || meta?.status === 'revoked') state = meta.status;
    else if (meta) state = meta.codeHash === localHash ? 'current' : 'outdated';
    out.push({
      app: app.name,
      contract: c.name,
      state,
      version: meta?.version ?? null,
      deployedHash: meta?.codeHash ?? null,
      localHash,
    });
  }
  return out;
}

/** Deploy or upgrade every contract of `app` that does not run the local build; in order. */
export async function deployApp(app: AppSpec, env: DeployEnv): Promise<ContractResult[]> {
  const out: ContractResult[] = [];
  for (const c of app.contracts) out.push(await deployContract(app, c, env));
  return out;
}

async function deployContract(
  app: AppSpec,
  c: AppContract,
  env: DeployEnv,
): Promise<ContractResult> {
  const code = await appCode(c);
  const codeHash = contractCodeHash(env.profile, code);
  const meta = await deployed(env.client, c.name);
  const config = await env.client.config();
  const policy = config.lifecyclePolicy || 'ANY';
  const base = { app: app.name, contract: c.name, codeHash, policy };
  if (meta?.status === 'revoked') {
    throw new ArchiError(
      'CONTRACT_REVOKED',
      `contract ${c.name} of app ${app.name} is revoked on this chain, and its name is never reused`,
    );
  }
  if (meta?.status === 'frozen') {
    throw new ArchiError(
      'CONTRACT_FROZEN',
      `contract ${c.name} of app ${app.name} is frozen: unfreeze it first (archi contract unfreeze ${c.name})`,
    );
  }
  if (meta?.codeHash === codeHash) {
    return { ...base, status: 'unchanged', action: null, version: meta.version };
  }
  const action = meta ? 'upgrade' : 'deploy';
  const [proposer, ...others] = env.admins;
  if (!proposer) {
    const file = writeProposal(env.proposalDir, app.name, c.name, action, code);
    return { ...base, status: 'printed', action, version: meta?.version ?? null, file };
  }
  const timeouts = { timeoutMs: env.timeoutMs };
  if (policyMet(policy, 1, config.orgs.length)) {
    const contracts = new Contracts(env.client);
    const r =
      action === 'deploy'
        ? await contracts.deploy(proposer, c.name, code, timeouts)
        : await contracts.upgrade(proposer, c.name, code, timeouts);
    return {
      ...base,
      status: action === 'deploy' ? 'deployed' : 'upgraded',
      action,
      version: r.contract.version,
    };
  }
  const gov = new Governance(env.client);
  const kind = action === 'deploy' ? 'contract_deploy' : 'contract_upgrade';
  const open = (await gov.list('pending')).find(
    (p) =>
      p.kind === kind &&
      p.args.name === c.name &&
      typeof p.args.code === 'string' &&
      contractCodeHash(env.profile, p.args.code) === codeHash,
  );
  let r: GovernanceResult | undefined;
  let proposal = open;
  if (!proposal) {
    r = await gov.propose(proposer, kind, { name: c.name, code }, timeouts);
    proposal = r.proposal;
  }
  for (const admin of [proposer, ...others]) {
    if (proposal.status !== 'pending') break;
    if (proposal.approvals.includes(admin.org) || proposal.rejections.includes(admin.org)) continue;
    r = await gov.approve(admin, proposal.id, timeouts);
    proposal = r.proposal;
  }
  if (proposal.status === 'executed') {
    const now = await deployed(env.client, c.name);
    return {
      ...base,
      status: action === 'deploy' ? 'deployed' : 'upgraded',
      action,
      version: now?.version ?? null,
      proposalId: proposal.id,
    };
  }
  if (proposal.status !== 'pending') {
    throw new ArchiError(
      'POLICY_NOT_MET',
      `proposal ${proposal.id} to ${action} ${c.name} is ${proposal.status}`,
    );
  }
  const voted = new Set([...proposal.approvals, ...proposal.rejections]);
  return {
    ...base,
    status: 'proposed',
    action,
    version: meta?.version ?? null,
    proposalId: proposal.id,
    missing: config.orgs.map((o) => o.id).filter((o) => !voted.has(o)),
  };
}

/** Write `{name, code}` for `archi gov propose contract_<action> --args @FILE`; returns FILE. */
function writeProposal(
  dir: string,
  app: string,
  contract: string,
  action: 'deploy' | 'upgrade',
  code: string,
): string {
  const appDir = join(dir, app);
  mkdirSync(appDir, { recursive: true });
  const file = join(appDir, `${contract}.${action}.json`);
  writeFileSync(file, `${JSON.stringify({ name: contract, code }, null, 2)}\n`);
  return file;
}
