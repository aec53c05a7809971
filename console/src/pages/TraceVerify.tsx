/**
 * Product verification: the trace app's public page (docs/apps/trace.md), opened from the
 * link on a label (`/verify?serial=V20-000001`, or `#/verify?serial=...` inside the console).
 * The item is read with a proof that this page checks (src/state/proof.ts against the block's
 * header, whose hash is recomputed from its bytes) and its view rebuilt from the proven
 * records: the authenticity verdict and the timeline are what the proofs say. Typing the
 * code under the scratch layer reveals it through the console server's verification
 * service; the answer is the contract's, and the item is read again, proven. Laid out in one
 * column so that it reads on a phone.
 */
import { useState } from 'react';
import { verifyReads } from '../chain.ts';
import { useCtx, useShell } from '../context.tsx';
import { go } from '../router.ts';
import {
  isSerial,
  type ItemView,
  outcomeText,
  postVerify,
  provenItem,
  TRACE,
  type VerifyOutcome,
  verdictOf,
} from '../trace.ts';
import { Badge, Card, Empty, ErrorBox, Show, useAsync } from '../ui.tsx';
import { Verdict } from './State.tsx';

const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16);

const VERDICT: Record<
  ReturnType<typeof verdictOf>,
  { kind: 'ok' | 'error' | 'info'; text: string }
> = {
  unverified: { kind: 'info', text: 'Code not verified yet' },
  'verified-once': { kind: 'ok', text: 'Code verified once' },
  'counterfeit-suspected': {
    kind: 'error',
    text: 'Likely counterfeit: code verified more than once',
  },
};

function Timeline({ item }: { item: ItemView }) {
  return (
    <ol className="timeline" data-testid="trace-timeline">
      {item.timeline.map((e) => (
        <li key={`${e.step}-${e.txId}`} data-testid={`step-${e.step}`}>
          <strong>{e.step}</strong> by {e.org}
          {e.place && <> at {e.place}</>}
          <div className="muted small">
            {when(e.time)} UTC · block <a href={`#/blocks/${e.height}`}>{e.height}</a>
            {e.note && <> · {e.note}</>}
          </div>
          {e.readings.map((r) => (
            <div key={r} className="mono small" data-testid="trace-reading">
              IoT reading {r.slice(0, 16)}…
            </div>
          ))}
        </li>
      ))}
    </ol>
  );
}

function Item({ serial, nonce }: { serial: string; nonce: number }) {
  const { rpc, crypto } = useCtx();
  const read = useAsync(async () => {
    const a = await rpc.query(TRACE, 'item', { serial }, true);
    if (!a.proof) throw new Error('the node answered without a proof');
    const block = await rpc.block(a.proof.height);
    const check = verifyReads(crypto, block, a.proof.height, a.proof.stateRoot, a.proof.reads);
    return { check, proven: provenItem(serial, a.proof.reads, a.result) };
  }, [rpc, serial, nonce]);
  return (
    <Show a={read} what="the item and its proof">
      {({ check, proven }) => {
        const verdict = !check.ok
          ? check
          : proven.ok
            ? check
            : { ok: false as const, reason: proven.reason, reads: check.reads };
        const item = proven.ok ? proven.item : null;
        return (
          <>
            <Verdict check={verdict} />
            {proven.ok && item === null && (
              <Empty title="Unknown serial" testId="trace-unknown">
                The proof shows that no item {serial} is registered: this label is not genuine.
              </Empty>
            )}
            {item && check.ok && (
              <>
                <p data-testid="trace-product">
                  <strong>{item.product}</strong> by {item.maker} · batch {item.batch}
                </p>
                {item.recalled && (
                  <div className="verdict bad" role="alert" data-testid="trace-recalled">
                    <div>
                      <strong>Recalled</strong>
                      <div className="small">
                        {item.recalled.reason} ({when(item.recalled.time)} UTC, block{' '}
                        {item.recalled.height})
                      </div>
                    </div>
                  </div>
                )}
                <p>
                  <Badge kind={VERDICT[verdictOf(item)].kind}>
                    <span data-testid="trace-verdict">{VERDICT[verdictOf(item)].text}</span>
                  </Badge>
                </p>
                {item.revealed && (
                  <p className="small" data-testid="trace-first">
                    First verified at {item.revealed.place}, {when(item.revealed.time)} UTC
                    {item.repeats > 0 &&
                      `; verified ${item.repeats} more time(s), last at ${item.lastRepeat?.place}`}
                  </p>
                )}
                <h3>Timeline</h3>
                <Timeline item={item} />
              </>
            )}
          </>
        );
      }}
    </Show>
  );
}

function CheckCode({ serial, onDone }: { serial: string; onDone: () => void }) {
  const { chain } = useShell();
  const [code, setCode] = useState('');
  const [place, setPlace] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<VerifyOutcome | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const submit = async () => {
    setBusy(true);
    setError(null);
    setOutcome(null);
    try {
      setOutcome(await postVerify({ serial, code: code.trim(), place, chain: chain.id }));
      onDone();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const text = outcome ? outcomeText(outcome) : null;
  return (
    <Card title="Check the code on the item">
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label>
          Code (under the scratch layer)
          <input
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="off"
            inputMode="text"
            data-testid="trace-code"
          />
        </label>
        <label>
          Where are you? (recorded with the check)
          <input
            value={place}
            onChange={(e) => setPlace(e.target.value)}
            data-testid="trace-place"
          />
        </label>
        <button type="submit" disabled={busy || code.trim() === ''} data-testid="trace-check">
          {busy ? 'Checking…' : 'Check'}
        </button>
      </form>
      {error && <ErrorBox error={error} />}
      {text && (
        <div
          className={`verdict ${text.good ? 'ok' : 'bad'}`}
          role="status"
          data-testid="trace-outcome"
        >
          <div>
            <strong>{text.title}</strong>
            <div className="small">{text.detail}</div>
          </div>
        </div>
      )}
    </Card>
  );
}

/** The verification page of `serial` (a search box when none is given). */
export function TraceVerifyPage({ serial }: { serial?: string }) {
  const [text, setText] = useState(serial ?? '');
  const [nonce, setNonce] = useState(0);
  const s = serial?.trim();
  return (
    <div className="page" data-testid="trace-page">
      <h1>Verify a product</h1>
      <form
        className="form inline"
        style={{ marginBottom: '1rem' }}
        onSubmit={(e) => {
          e.preventDefault();
          go(`#/verify?serial=${encodeURIComponent(text.trim())}`);
        }}
      >
        <input
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="serial on the label, e.g. V20-000001"
          data-testid="trace-serial"
        />
        <button type="submit">Look up</button>
      </form>
      {s && !isSerial(s) && (
        <ErrorBox error={new Error(`${s} is not a serial (1..64 of A-Z a-z 0-9 . _ -)`)} />
      )}
      {s && isSerial(s) && (
        <>
          <Card title={<code>{s}</code>} testId="trace-item">
            <Item key={s} serial={s} nonce={nonce} />
          </Card>
          <CheckCode key={`c-${s}`} serial={s} onDone={() => setNonce((n) => n + 1)} />
        </>
      )}
    </div>
  );
}
