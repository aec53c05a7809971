/** The chain switcher of the top bar, and what pages show while no node hosts the chosen chain. */
import { useShell } from './context.tsx';
import { plural } from './lib.ts';
import { Empty, Loading } from './ui.tsx';

export function ChainPicker() {
  const { chains, chain, setChain } = useShell();
  const listed = chains.some((c) => c.id === chain.id) ? chains : [...chains, chain];
  return (
    <label
      className="chain-pick"
      title={`chain ${chain.id}: hosted by ${chain.hosts.join(', ') || 'no node found yet'}`}
    >
      <span className="chain-pick-label">chain</span>
      <select
        value={chain.id}
        onChange={(e) => setChain(e.target.value)}
        aria-label="chain"
        data-testid="chain-picker"
      >
        {listed.map((c) => (
          <option key={c.id} value={c.id}>
            {c.id}
          </option>
        ))}
      </select>
      {chain.crypto && <span className="tag">{chain.crypto}</span>}
    </label>
  );
}

/** The chosen chain has no node to read it from (yet). */
export function NoHost() {
  const { chain, chains, network, found, setChain } = useShell();
  if (!found) {
    return (
      <div className="page">
        <Loading what={`the nodes that host chain ${chain.id}`} />
      </div>
    );
  }
  const others = chains.filter((c) => c.id !== chain.id && c.hosts.length > 0);
  return (
    <div className="page" data-testid="no-host">
      <Empty title={`No node of this network hosts chain ${chain.id}`}>
        The {plural(network.nodes.length, 'node')} of this network host{' '}
        {others.length ? others.map((c) => c.id).join(', ') : 'no chain that answers now'}.{' '}
        {others.length > 0 && (
          <button type="button" className="small secondary" onClick={() => setChain(others[0].id)}>
            Open {others[0].id}
          </button>
        )}
      </Empty>
    </div>
  );
}
