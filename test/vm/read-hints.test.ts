/**
 * The sandbox's read hints as templates: parts of a key that came from the sender or an
 * argument are remembered by where they came from, so the next call prefetches its own keys.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fillTemplate, hintParts, keyTemplate } from '../../src/vm/sandbox/runner.ts';

const payer = 'a'.repeat(40);
const payee = 'b'.repeat(40);
const other = 'c'.repeat(40);

test("keys named after the sender or an argument are filled with the next call's", () => {
  const first = hintParts(payer, JSON.stringify({ to: payee, amount: 1, memo: 'short' }));
  assert.deepEqual(first, [
    ['s', payer],
    ['a.to', payee],
  ]);
  const templates = [`w/${payer}`, `w/${payee}`, 'policy', `agg/000001/${payer}/${payee}`].map(
    (k) => keyTemplate(k, first),
  );
  assert.equal(templates[2], 'policy', 'a key with no part stays as it is');
  const next = hintParts(payee, JSON.stringify({ to: other, amount: 2 }));
  assert.deepEqual(
    templates.map((t) => fillTemplate(t, next)),
    [`w/${payee}`, `w/${other}`, 'policy', `agg/000001/${payee}/${other}`],
  );
  // A call without the argument cannot fill that template: it is skipped, not guessed.
  assert.equal(fillTemplate(templates[1], hintParts(payee, '{"amount":3}')), undefined);
});

test('short values and values that are not strings are not parts; bad args give none', () => {
  assert.deepEqual(hintParts('short', '{"a":"1234567","b":12345678,"c":["xxxxxxxxxx"]}'), []);
  assert.deepEqual(hintParts(payer, '[1,2]'), [['s', payer]]);
  assert.deepEqual(hintParts(payer, '{not json'), [['s', payer]]);
  assert.deepEqual(hintParts(payer, 'null'), [['s', payer]]);
});

test('the longest value is replaced first, so a value inside another does not split it', () => {
  const parts = hintParts('x'.repeat(8), JSON.stringify({ id: 'x'.repeat(12) }));
  const t = keyTemplate(`k/${'x'.repeat(12)}`, parts);
  assert.equal(
    fillTemplate(t, hintParts('y'.repeat(8), JSON.stringify({ id: 'z'.repeat(12) }))),
    `k/${'z'.repeat(12)}`,
  );
});
