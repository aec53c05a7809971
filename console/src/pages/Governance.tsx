/**
 * Governance: proposals that change the chain config, read from the native `governance`
 * contract (src/vm/native/governance.ts). Lists them with their votes per organization
 * against the chain's governance policy, shows one in detail, and lets the operator propose,
 * approve or reject as a local identity (signed by the console server). Chains without the
 * contract get an honest empty state, never sample data.
 */
import {
  PROPOSAL_STATUSES,
  type ProposalJson,
  type ProposalStatus,
} from '../../../src/types/governance.ts';
import { type ReactNode, useEffect, useMemo, useState } from 'react';
import { type ChainConfigJson, type CommittedAnswer, type ContractInfo, operator } from '../api.ts';
import { useCtx, useFeed } from '../context.tsx';
import { plural } from '../lib.ts';
import { go } from '../router.ts';
import {
  type AddNodeFields,
  type AddOrgFields,
  addNodeArgs,
  addOrgArgs,
  approvalsNeeded,
  describeChange,
  displayArgs,
  KIND_LABELS,
  KINDS,
  type Kind,
  list,
  nextNodeName,
  pendingPowers,
  policyMet,
  powerNow,
  ROLES,
  removeNodeArgs,
  removeOrgArgs,
  setValidatorPowerArgs,
} from '../proposals.ts';
import { Table } from '../table.tsx';
import {
  Badge,
  Card,
  CopyButton,
  Empty,
  ErrorBox,
  Fields,
  Hash,
  Json,
  Loading,
  Show,
  shorten,
  useAsync,
} from '../ui.tsx';
import { IdentityPicker, Receipt, useIdentity } from './Contracts.tsx';

const GOVERNANCE = 'governance';
const STATUSES = PROPOSAL_STATUSES;
type Status = ProposalStatus;
const PARAMS: Array<[string, number, number]> = [
  ['maxBlockTxs', 1, 1_000_000],
  ['maxBlockBytes', 4096, 1024 * 1024 * 1024],
  ['maxTxBytes', 4096, 64 * 1024 * 1024],
  ['blockIntervalMs', 1, 3_600_000],
  ['timeoutProposeMs', 1, 3_600_000],
  ['timeoutVoteMs', 1, 3_600_000],
  ['timeoutDeltaMs', 1, 3_600_000],
  ['maxBlockGas', 1_000_000, 1_000_000_000_000],
];

export type { ProposalJson };

const statusKind = (s: Status) =>
  s === 'executed' ? 'ok' : s === 'rejected' ? 'error' : s === 'expired' ? 'muted' : 'warn';

function StatusBadge({ status }: { status: Status }) {
  return <Badge kind={statusKind(status)}>{status}</Badge>;
}

function govPolicy(config: ChainConfigJson | undefined): string {
  return config?.governancePolicy || 'MAJORITY';
}

/** "1 of 1 orgs approved · MAJORITY needs 1" */
function Tally({ p, config }: { p: ProposalJson; config: ChainConfigJson | undefined }) {
  const orgs = config?.orgs.map((o) => o.id) ?? [];
  const policy = govPolicy(config);
  const approvals = p.approvals.filter((o) => orgs.includes(o)).length;
  const rejections = p.rejections.filter((o) => orgs.includes(o)).length;
  const needed = approvalsNeeded(policy, orgs.length);
  return (
    <span className="tally" data-testid="tally">
      <span className="ok-text">
        {approvals}/{orgs.length} approved
      </span>
      {rejections > 0 && <span className="err-text"> · {rejections} rejected</span>}
      <span className="muted">
        {' '}
        · {policy} needs {needed > orgs.length ? 'more orgs than exist' : needed}
        {policyMet(policy, approvals, orgs.length) ? ' ✓' : ''}
      </span>
    </span>
  );
}

/** The proposer as a local identity name (org1/admin) when the console knows its address. */
function Proposer({ p }: { p: { org: string; id: string } }) {
  const { identities } = useCtx();
  const id = p.id.toLowerCase().replace(/^0x/, '');
  const local = identities.data?.find(
    (i) => i.org === p.org && i.address?.toLowerCase().replace(/^0x/, '') === id,
  );
  return local ? (
    <span title={`${p.org}/${p.id}`}>{local.id}</span>
  ) : (
    <span title={p.id}>
      {p.org}/{shorten(p.id, 6)}
    </span>
  );
}

function useLatestHeight(): number | null {
  const feed = useFeed();
  return feed.blocks.reduce<number | null>(
    (m, b) => (m === null || b.height > m ? b.height : m),
    null,
  );
}

function ProposalList({
  proposals,
  config,
}: {
  proposals: ProposalJson[];
  config: ChainConfigJson | undefined;
}) {
  const [filter, setFilter] = useState<Status | 'all'>('all');
  const shown = [...proposals]
    .filter((p) => filter === 'all' || p.status === filter)
    .sort((a, b) => b.id - a.id);
  const count = (s: Status) => proposals.filter((p) => p.status === s).length;
  return (
    <>
      <div className="row filters">
        {(['all', ...STATUSES] as const).map((s) => (
          <button
            key={s}
            type="button"
            className={`small${filter === s ? '' : ' secondary'}`}
            aria-pressed={filter === s}
            onClick={() => setFilter(s)}
          >
            {s} ({s === 'all' ? proposals.length : count(s)})
          </button>
        ))}
      </div>
      {shown.length === 0 ? (
        <Empty title={proposals.length === 0 ? 'No proposals yet' : `No ${filter} proposals`}>
          {proposals.length === 0 && 'Propose a change below; it shows here once committed.'}
        </Empty>
      ) : (
        <ul className="proposal-list" data-testid="proposals">
          {shown.map((p) => (
            <li key={p.id} data-testid={`proposal-${p.id}`} data-status={p.status}>
              <a href={`#/governance/${p.id}`} className="proposal-row">
                <span className="proposal-id">#{p.id}</span>
                <span className="proposal-main">
                  <span className="proposal-change">{describeChange(p.kind, p.args)}</span>
                  <span className="proposal-meta muted">
                    <code>{p.kind}</code> · by <Proposer p={p.proposer} /> · block {p.createdAt}
                    {p.status === 'pending' || p.status === 'expired'
                      ? ` · expires after ${p.expiresAt}`
                      : p.closedAt !== null
                        ? ` · closed at ${p.closedAt}`
                        : ''}
                  </span>
                  <Tally p={p} config={config} />
                </span>
                <span className="proposal-status">
                  <StatusBadge status={p.status} />
                </span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** Sign and send one governance method; shows the receipt or the error. */
function useSender(onDone: () => void) {
  const { chain } = useCtx();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [sent, setSent] = useState<CommittedAnswer | null>(null);
  const send = async (as: string, method: string, args: unknown) => {
    setBusy(method);
    setError(null);
    setSent(null);
    try {
      setSent(
        await operator.signAndSend({ as, contract: GOVERNANCE, method, args, chain: chain.id }),
      );
      onDone();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(null);
    }
  };
  const out: ReactNode = (
    <>
      {error && <ErrorBox error={error} />}
      {sent && <Receipt answer={sent} />}
    </>
  );
  return { busy, send, out };
}

function Detail({
  id,
  config,
  onChanged,
}: {
  id: number;
  config: ChainConfigJson | undefined;
  onChanged: () => void;
}) {
  const { rpc } = useCtx();
  const height = useLatestHeight();
  const p = useAsync(async () => {
    const a = await rpc.query(GOVERNANCE, 'get', { id });
    return a.result as ProposalJson;
  }, [rpc, id, height]);
  const [as, setAs] = useIdentity();
  const { busy, send, out } = useSender(() => {
    p.reload();
    onChanged();
  });
  const orgs = config?.orgs.map((o) => o.id) ?? [];
  return (
    <Card
      title={`Proposal #${id}`}
      testId="proposal-detail"
      actions={
        <button type="button" className="small secondary" onClick={() => go('/governance')}>
          Back to all
        </button>
      }
    >
      <Show a={p} what={`proposal ${id}`}>
        {(x) => (
          <>
            <p className="lead" data-testid="detail-change">
              {describeChange(x.kind, x.args)} <StatusBadge status={x.status} />
            </p>
            <Fields
              rows={[
                ['Kind', <code key="k">{x.kind}</code>],
                ['Status', <StatusBadge key="s" status={x.status} />],
                ['Votes', <Tally key="t" p={x} config={config} />],
                ['Proposed by', <Proposer key="p" p={x.proposer} />],
                [
                  'Created at block',
                  <a key="h" href={`#/blocks/${x.createdAt}`}>
                    {x.createdAt}
                  </a>,
                ],
                [
                  'Votable until block',
                  `${x.expiresAt}${
                    x.status === 'pending' && height !== null
                      ? ` (${plural(Math.max(0, x.expiresAt - height), 'block')} left)`
                      : ''
                  }`,
                ],
                x.closedAt !== null && [
                  x.status === 'executed' ? 'Executed at block' : 'Closed at block',
                  <a key="c" href={`#/blocks/${x.closedAt}`}>
                    {x.closedAt}
                  </a>,
                ],
                [
                  'Args',
                  <div key="a" className="args" data-testid="detail-args">
                    <Json value={displayArgs(x.args)} />
                    <CopyButton text={JSON.stringify(x.args)} label="full args" />
                  </div>,
                ],
              ]}
            />
            <h3>Votes per organization</h3>
            <Table columns={['Organization', 'Vote']} testId="votes">
              {orgs.map((o) => (
                <tr key={o}>
                  <td>{o}</td>
                  <td>
                    {x.approvals.includes(o) ? (
                      <Badge kind="ok">approved</Badge>
                    ) : x.rejections.includes(o) ? (
                      <Badge kind="error">rejected</Badge>
                    ) : (
                      <span className="muted">not voted</span>
                    )}
                  </td>
                </tr>
              ))}
            </Table>
            {x.status === 'pending' ? (
              <div className="form vote" data-testid="vote">
                <IdentityPicker value={as} onChange={setAs} />
                <div className="row">
                  <button
                    type="button"
                    disabled={busy !== null || !as}
                    onClick={() => void send(as, 'approve', { id })}
                    data-testid="approve"
                  >
                    {busy === 'approve' ? 'Waiting for the block…' : 'Approve'}
                  </button>
                  <button
                    type="button"
                    className="danger"
                    disabled={busy !== null || !as}
                    onClick={() => void send(as, 'reject', { id })}
                    data-testid="reject"
                  >
                    {busy === 'reject' ? 'Waiting for the block…' : 'Reject'}
                  </button>
                  <span className="hint">
                    One voice per organization; only an organization admin may vote.
                  </span>
                </div>
              </div>
            ) : (
              <p className="muted">This proposal is {x.status}; voting is closed.</p>
            )}
            {out}
          </>
        )}
      </Show>
    </Card>
  );
}

function RolesField({
  value,
  onChange,
  required,
}: {
  value: string[];
  onChange: (v: string[]) => void;
  required?: string;
}) {
  return (
    <fieldset className="checks">
      <legend>Roles</legend>
      {ROLES.map((r) => (
        <label key={r} className="check">
          <input
            type="checkbox"
            checked={value.includes(r)}
            data-testid={`role-${r}`}
            onChange={(e) =>
              onChange(
                e.target.checked
                  ? ROLES.filter((x) => x === r || value.includes(x))
                  : value.filter((x) => x !== r),
              )
            }
          />
          {r}
          {required === r && <span className="muted"> (required)</span>}
        </label>
      ))}
    </fieldset>
  );
}

const NEW_NODE: AddNodeFields = { name: '', org: '', publicKey: '', address: '', power: '0' };
const NEW_ORG: AddOrgFields = { id: '', caCert: '', tlsCaCert: '', keys: '' };

/** "power 10 now; 0 from height 57" for a member node. */
function powerText(config: ChainConfigJson, name: string): string {
  const now = powerNow(config, name);
  const pending = pendingPowers(config, name)
    .map((p) => `${p.power.toLocaleString('en')} from height ${p.height}`)
    .join(', ');
  return `${now > 0 ? `power ${now.toLocaleString('en')} now` : 'not a validator now'}${
    pending ? `; ${pending}` : ''
  }`;
}

/** A member node (set_validator_power, remove_node) and, for the first, its new power. */
function NodeChoice({
  config,
  value,
  onChange,
  power,
  onPower,
}: {
  config: ChainConfigJson | undefined;
  value: string;
  onChange: (name: string) => void;
  power?: string;
  onPower: (power: string) => void;
}) {
  const picked = config?.nodes.find((n) => n.name === value);
  return (
    <>
      <div className="row fields-row">
        <label>
          Node
          <select
            value={value}
            onChange={(e) => onChange(e.target.value)}
            data-testid="member-node"
          >
            <option value="">choose a member node…</option>
            {config?.nodes.map((n) => (
              <option key={n.name} value={n.name}>
                {n.name} ({n.org}
                {powerNow(config, n.name) > 0 ? `, power ${powerNow(config, n.name)}` : ''})
              </option>
            ))}
          </select>
        </label>
        {power !== undefined && (
          <label className="narrow">
            New power
            <input
              inputMode="numeric"
              value={power}
              onChange={(e) => onPower(e.target.value)}
              placeholder={picked && config ? `now ${powerNow(config, picked.name)}` : '0'}
              data-testid="validator-power"
            />
          </label>
        )}
      </div>
      {picked && config && (
        <p className="hint" data-testid="current-power">
          {picked.name} of {picked.org}: {powerText(config, picked.name)}.
        </p>
      )}
      <p className="hint">
        {power !== undefined
          ? 'Power 0 removes it from the validator set. The change applies two blocks after the block that executes it.'
          : 'A validator also leaves the validator set, two blocks after the block that executes it.'}
        {config?.consensus === 'solo' && " This is a solo chain: its validator's power is fixed."}
      </p>
    </>
  );
}

function NewNodeFields({
  config,
  value,
  onChange,
}: {
  config: ChainConfigJson | undefined;
  value: AddNodeFields;
  onChange: (v: AddNodeFields) => void;
}) {
  const set = (k: keyof AddNodeFields) => (e: { target: { value: string } }) =>
    onChange({ ...value, [k]: e.target.value });
  return (
    <>
      <div className="row fields-row">
        <label>
          Node name
          <input
            value={value.name}
            onChange={set('name')}
            placeholder={nextNodeName(config)}
            spellCheck={false}
            data-testid="node-name"
          />
        </label>
        <label>
          Organization
          <select
            value={value.org || (config?.orgs[0]?.id ?? '')}
            onChange={set('org')}
            data-testid="node-org"
          >
            {config?.orgs.map((o) => (
              <option key={o.id} value={o.id}>
                {o.id}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label>
        Consensus public key
        <input
          value={value.publicKey}
          onChange={set('publicKey')}
          placeholder="04… (130 hex characters, the node's key on the chain's curve)"
          spellCheck={false}
          className="mono"
          data-testid="node-key"
        />
      </label>
      <div className="row fields-row">
        <label>
          P2P address
          <input
            value={value.address}
            onChange={set('address')}
            placeholder="host:port, or empty if it dials in"
            spellCheck={false}
            data-testid="node-address"
          />
        </label>
        <label className="narrow">
          Power
          <input
            inputMode="numeric"
            value={value.power}
            onChange={set('power')}
            data-testid="node-power"
          />
        </label>
      </div>
      <p className="hint">
        Power 0 adds a node that follows the chain without voting; with power above 0 it validates
        from two blocks after the block that executes the proposal.
        {config?.consensus === 'solo' && ' A solo chain takes only power 0.'}
      </p>
    </>
  );
}

function NewOrgFields({
  config,
  value,
  onChange,
}: {
  config: ChainConfigJson | undefined;
  value: AddOrgFields;
  onChange: (v: AddOrgFields) => void;
}) {
  const set = (k: keyof AddOrgFields) => (e: { target: { value: string } }) =>
    onChange({ ...value, [k]: e.target.value });
  const need = (yes: boolean) => (
    <span className="muted">{yes ? ' (required)' : ' (optional)'}</span>
  );
  return (
    <>
      <label className="narrow">
        Organization id
        <input
          value={value.id}
          onChange={set('id')}
          placeholder="org5"
          spellCheck={false}
          data-testid="org-id"
        />
      </label>
      <label>
        <span>CA certificate (PEM){need(config?.identityMode === 'cert')}</span>
        <textarea
          rows={5}
          value={value.caCert}
          onChange={set('caCert')}
          placeholder="-----BEGIN CERTIFICATE-----"
          spellCheck={false}
          className="mono"
          data-testid="org-ca"
        />
      </label>
      <label>
        <span>TLS CA certificate (PEM){need(config?.consensus === 'tbft')}</span>
        <textarea
          rows={5}
          value={value.tlsCaCert}
          onChange={set('tlsCaCert')}
          placeholder="-----BEGIN CERTIFICATE-----"
          spellCheck={false}
          className="mono"
          data-testid="org-tls-ca"
        />
      </label>
      {config?.identityMode === 'key' && (
        <label>
          <span>Keys (JSON){need(true)}</span>
          <textarea
            rows={4}
            value={value.keys}
            onChange={set('keys')}
            placeholder='[{"name":"admin","role":"admin","publicKey":"04…"}]'
            spellCheck={false}
            className="mono"
            data-testid="org-keys"
          />
        </label>
      )}
      <p className="hint">
        <code>archi org new</code> makes these and prints the proposal (also saved to{' '}
        <code>orgs/ORG/proposals.json</code>). Its members may send txs from the block after the one
        that executes it; add its nodes with a separate proposal.
      </p>
    </>
  );
}

function ProposeForm({
  config,
  onDone,
}: {
  config: ChainConfigJson | undefined;
  onDone: () => void;
}) {
  const [kind, setKind] = useState<Kind>('set_kv_write_roles');
  const [roles, setRoles] = useState<string[]>([]);
  const [params, setParams] = useState<Record<string, string>>({});
  const [which, setWhich] = useState<'governance' | 'lifecycle'>('governance');
  const [policy, setPolicy] = useState('MAJORITY');
  const [certHash, setCertHash] = useState('');
  const [memberNode, setMemberNode] = useState('');
  const [power, setPower] = useState('');
  const [memberOrg, setMemberOrg] = useState('');
  const [newNode, setNewNode] = useState<AddNodeFields>(NEW_NODE);
  const [newOrg, setNewOrg] = useState<AddOrgFields>(NEW_ORG);
  const [expires, setExpires] = useState('100');
  const [formError, setFormError] = useState<string | null>(null);
  const [as, setAs] = useIdentity();
  const { busy, send, out } = useSender(onDone);

  // Start each roles form from what the chain has now.
  useEffect(() => {
    if (kind === 'set_kv_write_roles') setRoles(config?.kvWriteRoles ?? []);
    if (kind === 'set_tx_roles') setRoles(config?.txRoles ?? []);
    if (kind === 'set_policy')
      setPolicy(
        (which === 'governance' ? config?.governancePolicy : config?.lifecyclePolicy) || 'MAJORITY',
      );
  }, [kind, which, config]);

  const build = (): Record<string, unknown> | string => {
    switch (kind) {
      case 'set_kv_write_roles':
        return { roles };
      case 'set_tx_roles':
        return roles.includes('admin')
          ? { roles }
          : 'tx senders must include admin, or governance could never run again';
      case 'set_params': {
        const out: Record<string, number> = {};
        for (const [name, min, max] of PARAMS) {
          const v = params[name]?.trim();
          if (!v) continue;
          const n = Number(v);
          if (!Number.isSafeInteger(n) || n < min || n > max)
            return `${name} must be an integer in ${min}..${max}`;
          out[name] = n;
        }
        return Object.keys(out).length ? out : 'change at least one param';
      }
      case 'set_policy': {
        const m = /^(ANY|MAJORITY|ALL|([1-9][0-9]{0,5})\/([1-9][0-9]{0,5}))$/.exec(policy.trim());
        if (!m) return 'policy must be ANY, MAJORITY, ALL or n/m';
        if (m[2] !== undefined && Number(m[2]) > Number(m[3])) return 'n/m needs n <= m';
        return { which, policy: policy.trim() };
      }
      case 'revoke_cert':
        return /^(0x)?[0-9a-fA-F]{64}$/.test(certHash.trim())
          ? { certHash: certHash.trim() }
          : 'enter the 64-hex-character hash of the certificate';
      case 'set_validator_power':
        return setValidatorPowerArgs({ name: memberNode, power }, config);
      case 'remove_node':
        return removeNodeArgs(memberNode, config);
      case 'remove_org':
        return removeOrgArgs(memberOrg, config);
      case 'add_node':
        return addNodeArgs({ ...newNode, org: newNode.org || (config?.orgs[0]?.id ?? '') }, config);
      case 'add_org':
        return addOrgArgs(newOrg, config);
    }
    return 'unknown kind';
  };
  const built = build();
  const ttl = Number(expires);

  return (
    <form
      className="form"
      data-testid="propose"
      onSubmit={(e) => {
        e.preventDefault();
        if (typeof built === 'string') return setFormError(built);
        if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > 100_000)
          return setFormError('expires in must be a whole number of blocks in 1..100000');
        setFormError(null);
        void send(as, 'propose', { kind, args: built, expiresInBlocks: ttl });
      }}
    >
      <label>
        Kind
        <select
          value={kind}
          onChange={(e) => setKind(e.target.value as Kind)}
          data-testid="propose-kind"
        >
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]} ({k})
            </option>
          ))}
        </select>
      </label>
      {(kind === 'set_kv_write_roles' || kind === 'set_tx_roles') && (
        <RolesField
          value={roles}
          onChange={setRoles}
          required={kind === 'set_tx_roles' ? 'admin' : undefined}
        />
      )}
      {kind === 'set_params' && (
        <div className="param-grid">
          {PARAMS.map(([name, min, max]) => (
            <label key={name}>
              {name}
              <input
                inputMode="numeric"
                value={params[name] ?? ''}
                placeholder={`now ${config?.params?.[name] ?? (config?.params && name === 'maxBlockGas' ? 'no limit' : '?')}`}
                onChange={(e) => setParams({ ...params, [name]: e.target.value })}
                data-testid={`param-${name}`}
              />
              <span className="hint">
                {min.toLocaleString('en')}..{max.toLocaleString('en')}
              </span>
            </label>
          ))}
        </div>
      )}
      {kind === 'set_policy' && (
        <div className="row">
          <label>
            Which policy
            <select
              value={which}
              onChange={(e) => setWhich(e.target.value as 'governance' | 'lifecycle')}
            >
              <option value="governance">governance</option>
              <option value="lifecycle">lifecycle</option>
            </select>
          </label>
          <label>
            Policy
            <input
              value={policy}
              onChange={(e) => setPolicy(e.target.value)}
              list="policies"
              spellCheck={false}
              data-testid="policy"
            />
            <datalist id="policies">
              <option value="ANY" />
              <option value="MAJORITY" />
              <option value="ALL" />
              <option value="2/3" />
            </datalist>
          </label>
        </div>
      )}
      {kind === 'revoke_cert' && (
        <label>
          Certificate hash
          <input
            value={certHash}
            onChange={(e) => setCertHash(e.target.value)}
            placeholder="64 hex characters"
            spellCheck={false}
            className="mono"
            data-testid="cert-hash"
          />
        </label>
      )}
      {(kind === 'set_validator_power' || kind === 'remove_node') && (
        <NodeChoice
          config={config}
          value={memberNode}
          onChange={setMemberNode}
          power={kind === 'set_validator_power' ? power : undefined}
          onPower={setPower}
        />
      )}
      {kind === 'remove_org' && (
        <label>
          Organization
          <select
            value={memberOrg}
            onChange={(e) => setMemberOrg(e.target.value)}
            data-testid="member-org"
          >
            <option value="">choose a member organization…</option>
            {config?.orgs.map((o) => (
              <option key={o.id} value={o.id}>
                {o.id}
              </option>
            ))}
          </select>
          <span className="hint">Remove its nodes first; the last organization cannot go.</span>
        </label>
      )}
      {kind === 'add_node' && (
        <NewNodeFields config={config} value={newNode} onChange={setNewNode} />
      )}
      {kind === 'add_org' && <NewOrgFields config={config} value={newOrg} onChange={setNewOrg} />}
      <label className="narrow">
        Expires in (blocks)
        <input
          inputMode="numeric"
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
          data-testid="propose-expires"
        />
      </label>
      <p className="hint" data-testid="propose-summary">
        {typeof built === 'string' ? built : `Proposes: ${describeChange(kind, built)}`}
      </p>
      <IdentityPicker value={as} onChange={setAs} />
      <div className="row">
        <button type="submit" disabled={busy !== null || !as} data-testid="propose-run">
          {busy ? 'Waiting for the block…' : 'Sign and propose'}
        </button>
        <span className="hint">
          The proposer's organization counts as its first approval; under the current policy (
          {govPolicy(config)}) that may execute the change at once.
        </span>
      </div>
      {formError && <div className="form-error">{formError}</div>}
      {out}
    </form>
  );
}

function Governance({ gov, selected }: { gov: ContractInfo; selected?: number }) {
  const { rpc, config } = useCtx();
  const height = useLatestHeight();
  // Re-read the list as blocks arrive: votes, executions and expiry change with height.
  const proposals = useAsync(async () => {
    const a = await rpc.query(gov.name, 'list', {});
    return a.result as ProposalJson[];
  }, [rpc, gov.name, height]);
  const c = config.data;
  const [configTick, setConfigTick] = useState(0);
  // An executed change applies from the next block: re-read the chain config then.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload on tick and height
  useEffect(() => {
    if (configTick > 0) config.reload();
  }, [configTick, height]);
  const reloadAll = () => {
    proposals.reload();
    setConfigTick((t) => t + 1);
  };
  const pending = useMemo(
    () => proposals.data?.filter((p) => p.status === 'pending').length ?? 0,
    [proposals.data],
  );
  return (
    <>
      <Card title="Policy" testId="governance-policy">
        {config.error && !c ? (
          <ErrorBox error={config.error} retry={config.reload} />
        ) : !c ? (
          <Loading what="chain config" />
        ) : (
          <Fields
            rows={[
              [
                'Governance policy',
                <span key="g">
                  <strong>{govPolicy(c)}</strong>{' '}
                  <span className="muted">
                    of {plural(c.orgs.length, 'organization')}: needs{' '}
                    {plural(approvalsNeeded(govPolicy(c), c.orgs.length), 'approval')}
                  </span>
                </span>,
              ],
              ['Organizations', c.orgs.map((o) => o.id).join(', ')],
              [
                'kv writers',
                <span key="k" data-testid="kv-writers">
                  {list(c.kvWriteRoles)}
                </span>,
              ],
              ['tx senders', list(c.txRoles)],
              ['Lifecycle policy', c.lifecyclePolicy || '—'],
              c.revokedCerts.length > 0 && [
                'Revoked certificates',
                <span key="r">
                  {c.revokedCerts.map((h) => (
                    <Hash key={h} value={h} label="certificate hash" />
                  ))}
                </span>,
              ],
            ]}
          />
        )}
      </Card>
      {selected !== undefined && <Detail id={selected} config={c} onChanged={reloadAll} />}
      <Card
        title={`Proposals${pending ? ` · ${pending} pending` : ''}`}
        testId="proposals-card"
        actions={
          <button type="button" className="small secondary" onClick={proposals.reload}>
            {proposals.loading ? 'Refreshing…' : 'Refresh'}
          </button>
        }
      >
        <Show a={proposals} what="proposals">
          {(rows) =>
            Array.isArray(rows) ? (
              <ProposalList proposals={rows} config={c} />
            ) : (
              <Json value={rows} />
            )
          }
        </Show>
      </Card>
      <Card title="Propose a change" testId="propose-card">
        <ProposeForm config={c} onDone={reloadAll} />
      </Card>
    </>
  );
}

export function GovernancePage({ selected }: { selected?: string }) {
  const { rpc, config } = useCtx();
  const contracts = useAsync(() => rpc.contracts(), [rpc]);
  const id =
    selected !== undefined && /^[1-9][0-9]*$/.test(selected) ? Number(selected) : undefined;
  return (
    <div className="page" data-testid="governance-page">
      <h1>Governance</h1>
      {selected !== undefined && id === undefined && (
        <Empty title={`No proposal "${selected}"`}>Proposal ids are positive whole numbers.</Empty>
      )}
      <Show a={contracts} what="contracts">
        {(all) => {
          const gov = all.find((c) => c.name === GOVERNANCE);
          if (!gov) {
            return (
              <Card>
                <Empty title="No governance contract on this chain">
                  This node runs no <code>governance</code> contract, so the chain config below is
                  fixed at genesis.
                </Empty>
                {config.data && (
                  <Fields
                    rows={[
                      ['Governance policy', config.data.governancePolicy || '—'],
                      ['Lifecycle policy', config.data.lifecyclePolicy || '—'],
                      ['Member organizations', config.data.orgs.map((o) => o.id).join(', ')],
                    ]}
                  />
                )}
              </Card>
            );
          }
          return <Governance gov={gov} selected={id} />;
        }}
      </Show>
    </div>
  );
}
