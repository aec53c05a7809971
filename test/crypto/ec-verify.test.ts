import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { JacobianVerifier, nafDigits } from '../../src/crypto/ec-verify.ts';
import { sm2 } from '../../src/crypto/sm2.ts';
import { loadVector } from './openssl-helper.ts';

const P = sm2.Point;
const n = sm2.n;
const rnd = () => BigInt(`0x${randomBytes(32).toString('hex')}`) % n;

// Reference: noble's own (slow, audited) arithmetic.
function referenceX(q: typeof P.BASE, s: bigint, t: bigint): bigint | undefined {
  const sum = (s === 0n ? P.ZERO : P.BASE.multiplyUnsafe(s)).add(
    t === 0n ? P.ZERO : q.multiplyUnsafe(t),
  );
  return sum.is0() ? undefined : sum.toAffine().x;
}

describe('JacobianVerifier (SM2 verification fast path)', () => {
  const fv = new JacobianVerifier(P);
  const gTable = fv.fixedTable(P.BASE, 6);
  const Q = P.BASE.multiply(rnd());
  const shapes = [
    fv.fixedTable(Q, 4),
    fv.fixedTable(Q, 5),
    fv.oddMultiples(Q),
    fv.oddMultiples(Q, 4),
  ];
  const edge = [
    0n,
    1n,
    2n,
    15n,
    16n,
    17n,
    31n,
    32n,
    n - 1n,
    n - 2n,
    n / 2n,
    2n ** 255n,
    2n ** 128n - 1n,
  ];

  it('matches noble on edge-case and random scalar pairs', () => {
    const pairs: [bigint, bigint][] = [];
    for (const a of edge) for (const b of edge) pairs.push([a, b]);
    for (let i = 0; i < 100; i++) pairs.push([rnd(), rnd()]);
    for (const [s, t] of pairs) {
      const want = referenceX(Q, s, t);
      for (const q of shapes) assert.equal(fv.mulAddX(gTable, s, q, t), want, `s=${s} t=${t}`);
    }
  });

  it('handles the exceptional additions (doubling and cancellation) when Q = G', () => {
    const asQ = [fv.fixedTable(P.BASE, 5), fv.oddMultiples(P.BASE)];
    for (const s of [1n, 7n, rnd(), rnd()]) {
      for (const t of [s, n - s, (2n * s) % n, (3n * s) % n]) {
        const k = (s + t) % n;
        const want = k === 0n ? undefined : P.BASE.multiplyUnsafe(k).toAffine().x;
        for (const q of asQ) assert.equal(fv.mulAddX(gTable, s, q, t), want, `s=${s} t=${t}`);
      }
    }
  });

  it('NAF digits reconstruct the scalar and respect the width', () => {
    for (const w of [4, 5, 6]) {
      for (const k of [0n, 1n, 2n ** 256n - 1n, n - 1n, ...Array.from({ length: 200 }, rnd)]) {
        const digits = nafDigits(k, w);
        let v = 0n;
        for (let i = digits.length - 1; i >= 0; i--) {
          const d = digits[i];
          assert.ok(d === 0 || (Math.abs(d) % 2 === 1 && Math.abs(d) < 2 ** (w - 1)));
          v = 2n * v + BigInt(d);
        }
        assert.equal(v, k);
      }
    }
  });

  it('refuses curves whose a is not -3', () => {
    // The GB/T 32918 example curve has a generic a.
    const c = loadVector<{ curve: Record<string, string> }>('sm2-gbt32918-example.json').curve;
    const big = (k: string) => BigInt(`0x${c[k]}`);
    const other = weierstrass({
      p: big('p'),
      a: big('a'),
      b: big('b'),
      n: big('n'),
      Gx: big('Gx'),
      Gy: big('Gy'),
      h: 1n,
    });
    assert.equal(JacobianVerifier.supports(other), false);
    assert.throws(() => new JacobianVerifier(other));
    assert.equal(JacobianVerifier.supports(P), true);
  });
});
