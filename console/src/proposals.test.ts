/**
 * Unit tests of the Governance page's pure parts (console/src/proposals.ts): proposals in
 * words, PEM shortening, and the propose form's argument builders for the membership kinds.
 * What the builders accept is checked against the governance contract's own validation
 * (src/vm/native/membership.ts) on the same config, so the form never sends what the chain
 * would refuse for a reason the browser could see. They run in Node, without the DOM.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ChainConfig, ChainConfigSchema, create } from '../../src/codec/index.ts';
import { type CryptoProfile, getProfile } from '../../src/crypto/profile.ts';
import { certToPem, issueCertificate, issueSelfSignedCa } from '../../src/crypto/x509.ts';
import { GOVERNANCE_KINDS } from '../../src/sdk/governance.ts';
import { ROLES as GENESIS_ROLES } from '../../src/types/genesis.ts';
import { hex } from '../../src/types/hex.ts';
import { configToJson } from '../../src/vm/native/chain-config.ts';
import { PROPOSAL_KINDS } from '../../src/vm/native/governance.ts';
import {
  MAX_POWER as CONTRACT_MAX_POWER,
  type MembershipKind,
} from '../../src/types/governance.ts';
import { validateMembership } from '../../src/vm/native/membership.ts';
import {
  addNodeArgs,
  addOrgArgs,
  type Built,
  describeChange,
  displayArgs,
  KIND_LABELS,
  KINDS,
  MAX_POWER,
  nextNodeName,
  normalizeKey,
  pemSummary,
  pemToDerHex,
  pendingPowers,
  powerNow,
  ROLES,
  removeNodeArgs,
  removeOrgArgs,
  setValidatorPowerArgs,
  validatorChanges,
} from './proposals.ts';

const standard = getProfile('standard');
const gm = getProfile('gm');
const validity = {
  notBefore: new Date(Date.now() - 86_400_000),
  notAfter: new Date(Date.now() + 365 * 86_400_000),
};

/** A self-signed CA for org `o` under `profile`, as PEM. */
const caPem = (profile: CryptoProfile, o: string): string =>
  certToPem(issueSelfSignedCa(profile, { O: o, CN: `ca.${o}` }, validity).der);

/** A leaf (non-CA) certificate of org `o`, as PEM. */
function leafPem(o: string): string {
  const ca = standard.generateKeyPair();
  const kp = standard.generateKeyPair();
  return certToPem(
    issueCertificate({
      profile: standard,
      issuer: standard.signerFromPem(ca.privateKeyPem),
      issuerName: { O: o, CN: `ca.${o}` },
      subjectName: { O: o, OU: 'admin', CN: `admin.${o}` },
      subjectPublicKey: kp.publicKey,
      ...validity,
      isCA: false,
    }),
  );
}

interface Net {
  crypto?: 'standard' | 'gm';
  identityMode?: 'cert' | 'key';
  consensus?: 'solo' | 'tbft';
  orgs: string[];
  /** node name -> [org, power]; every node is a member node, power > 0 a validator. */
  nodes: Record<string, [string, number]>;
  /** Scheduled sets: height -> node name -> power. */
  pending?: Record<number, Record<string, number>>;
}

/** The chain config as the contract sees it (proto) and as the console gets it (JSON). */
function chain(n: Net): { proto: ChainConfig; json: ReturnType<typeof configToJson> } {
  const profile = getProfile(n.crypto ?? 'standard');
  const keys = new Map(Object.keys(n.nodes).map((name) => [name, profile.generateKeyPair()]));
  const validator = (name: string, power: number) => ({
    name,
    org: n.nodes[name][0],
    publicKey: keys.get(name)!.publicKey,
    power: BigInt(power),
  });
  const proto = create(ChainConfigSchema, {
    chainId: 'test',
    crypto: n.crypto ?? 'standard',
    identityMode: n.identityMode ?? 'cert',
    consensus: n.consensus ?? 'tbft',
    orgs: n.orgs.map((id) => ({ id })),
    nodes: Object.entries(n.nodes).map(([name, [org]]) => ({
      name,
      org,
      publicKey: keys.get(name)!.publicKey,
      address: '',
    })),
    validators: Object.entries(n.nodes)
      .filter(([, [, power]]) => power > 0)
      .map(([name, [, power]]) => validator(name, power)),
    pendingValidators: Object.entries(n.pending ?? {}).map(([height, set]) => ({
      height: BigInt(height),
      validators: Object.entries(set).map(([name, power]) => validator(name, power)),
    })),
    txRoles: ['admin', 'client'],
    kvWriteRoles: ['admin', 'client'],
    governancePolicy: 'MAJORITY',
  });
  return { proto, json: configToJson(proto) };
}

const FOUR: Net = {
  orgs: ['org1', 'org2', 'org3', 'org4'],
  nodes: { node1: ['org1', 10], node2: ['org2', 10], node3: ['org3', 10], node4: ['org4', 0] },
};
const SOLO: Net = { consensus: 'solo', orgs: ['org1'], nodes: { node1: ['org1', 1] } };

/** The builder's args, checked to be what the contract accepts (normalized the same). */
function accepted(kind: MembershipKind, built: Built, proto: ChainConfig): Record<string, unknown> {
  assert.equal(typeof built, 'object', `${kind} refused by the form: ${String(built)}`);
  const args = built as Record<string, unknown>;
  assert.deepEqual(validateMembership(kind, args, proto), args);
  return args;
}

/** The builder's refusal, checked to match `why`. */
function refused(built: Built, why: RegExp): void {
  assert.equal(typeof built, 'string', `expected a refusal, got ${JSON.stringify(built)}`);
  assert.match(built as string, why);
}

describe('governance proposals in words', () => {
  it('describes the membership kinds', () => {
    assert.equal(
      describeChange('add_org', { id: 'org5', caCert: '…', tlsCaCert: '…' }),
      'admit organization org5',
    );
    assert.equal(
      describeChange('add_org', { id: 'org5', keys: [{}, {}, {}] }),
      'admit organization org5 with 3 registered keys',
    );
    assert.equal(
      describeChange('add_node', {
        name: 'node5',
        org: 'org5',
        publicKey: '04ab',
        address: '127.0.0.1:7005',
        power: 10,
      }),
      'add node node5 of org5 as validator with power 10 (at 127.0.0.1:7005)',
    );
    assert.equal(
      describeChange('add_node', { name: 'node9', org: 'org1', publicKey: '04ab', power: 0 }),
      'add node node9 of org1 as non-validator (dials in)',
    );
    assert.equal(
      describeChange('add_node', { name: 'node9', org: 'org1', publicKey: '04ab' }),
      'add node node9 of org1 as non-validator (dials in)',
    );
    assert.equal(
      describeChange('set_validator_power', { name: 'node2', power: 0 }),
      "node2's voting power becomes 0 (leaves the validator set) two blocks after execution",
    );
    assert.equal(
      describeChange('set_validator_power', { name: 'node5', power: 25000 }),
      "node5's voting power becomes 25,000 two blocks after execution",
    );
    assert.equal(describeChange('remove_node', { name: 'node2' }), 'remove node node2');
    assert.equal(describeChange('remove_org', { id: 'org2' }), 'remove organization org2');
  });

  it('still describes the config kinds, and anything else as kind and args', () => {
    assert.equal(
      describeChange('set_kv_write_roles', { roles: ['admin', 'client'] }),
      'kv writers become: admin, client',
    );
    assert.equal(describeChange('set_tx_roles', { roles: [] }), 'tx senders become: nobody');
    assert.equal(
      describeChange('set_params', { maxBlockTxs: 5000, blockIntervalMs: 200 }),
      'maxBlockTxs becomes 5,000, blockIntervalMs becomes 200',
    );
    assert.equal(
      describeChange('set_policy', { which: 'lifecycle', policy: '2/3' }),
      'lifecycle policy becomes: 2/3',
    );
    assert.equal(
      describeChange('revoke_cert', { certHash: 'ab'.repeat(32) }),
      `revoke certificate abababab…abababab`,
    );
    assert.equal(
      describeChange('contract_freeze', { name: 'counter' }),
      'contract_freeze {"name":"counter"}',
    );
  });

  it('offers only kinds the SDK and the contract know, each with a label', () => {
    for (const k of KINDS) {
      assert.ok((GOVERNANCE_KINDS as readonly string[]).includes(k), k);
      assert.ok((PROPOSAL_KINDS as readonly string[]).includes(k), k);
      assert.ok(KIND_LABELS[k], k);
    }
    assert.deepEqual([...ROLES], [...GENESIS_ROLES]);
    assert.equal(MAX_POWER, CONTRACT_MAX_POWER);
  });

  it('shortens PEM values in args and leaves the rest alone', () => {
    const pem = caPem(standard, 'org5');
    const der = pemToDerHex(pem);
    assert.equal(certToPem(Buffer.from(der, 'hex')), pem);
    const summary = pemSummary(pem);
    assert.match(summary, /^PEM CERTIFICATE \(\d+ chars, O=org5, CN=ca\.org5, CA\) MII/);
    assert.ok(summary.length < 100, summary);
    assert.ok(!summary.includes('\n'));
    const key = hex(standard.generateKeyPair().publicKey);
    const shown = displayArgs({
      id: 'org5',
      caCert: pem,
      tlsCaCert: pem,
      keys: [{ name: 'admin', role: 'admin', publicKey: key }],
    }) as Record<string, unknown>;
    assert.equal(shown.id, 'org5');
    assert.equal(shown.caCert, summary);
    assert.equal(shown.tlsCaCert, summary);
    assert.deepEqual(shown.keys, [{ name: 'admin', role: 'admin', publicKey: key }]);
    assert.deepEqual(displayArgs({ power: 10, name: 'node1', x: null }), {
      power: 10,
      name: 'node1',
      x: null,
    });
    assert.match(
      pemSummary('-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----'),
      /unreadable/,
    );
    assert.throws(() => pemToDerHex('no pem here'), /no -----BEGIN CERTIFICATE----- block/);
  });
});

describe('validator power in the config', () => {
  it('reads power now and the scheduled changes of a node', () => {
    const { json } = chain({
      ...FOUR,
      pending: { 12: { node1: 10, node2: 10, node3: 10, node4: 5 } },
    });
    assert.equal(powerNow(json, 'node1'), 10);
    assert.equal(powerNow(json, 'node4'), 0);
    assert.deepEqual(pendingPowers(json, 'node4'), [{ height: 12, power: 5 }]);
    assert.deepEqual(pendingPowers(json, 'node1'), []);
    assert.deepEqual(validatorChanges(json.validators, json.pendingValidators[0].validators), [
      'node4 joins with 5',
    ]);
    const v = (name: string, power: number) => ({ name, org: 'o', publicKey: '04', power });
    assert.deepEqual(
      validatorChanges([v('a', 10), v('b', 10), v('c', 10)], [v('a', 10), v('c', 1000), v('d', 5)]),
      ['c 10 → 1,000', 'd joins with 5', 'b leaves'],
    );
    assert.equal(nextNodeName(json), 'node5');
    assert.equal(nextNodeName(undefined), 'node1');
  });

  it('normalizes public keys', () => {
    const key = hex(standard.generateKeyPair().publicKey);
    assert.equal(normalizeKey(` 0x${key.toUpperCase()} `), key);
    assert.equal(normalizeKey(key.slice(2)), undefined);
    assert.equal(normalizeKey(`02${key.slice(2)}`), undefined);
  });
});

describe('propose form: add_node', () => {
  const { proto, json } = chain(FOUR);
  const key = hex(standard.generateKeyPair().publicKey);
  const base = { name: 'node5', org: 'org1', publicKey: key, address: '', power: '0' };

  it('builds what the contract accepts', () => {
    assert.deepEqual(accepted('add_node', addNodeArgs(base, json), proto), {
      name: 'node5',
      org: 'org1',
      publicKey: key,
      power: 0,
    });
    const full = { ...base, publicKey: `0x${key.toUpperCase()}`, address: ' 10.0.0.5:7005 ' };
    assert.deepEqual(accepted('add_node', addNodeArgs({ ...full, power: '10' }, json), proto), {
      name: 'node5',
      org: 'org1',
      publicKey: key,
      address: '10.0.0.5:7005',
      power: 10,
    });
    assert.equal(
      (accepted('add_node', addNodeArgs({ ...base, power: '' }, json), proto) as { power: number })
        .power,
      0,
    );
    accepted('add_node', addNodeArgs({ ...base, address: '[::1]:7005' }, json), proto);
    accepted('add_node', addNodeArgs({ ...base, address: 'node5.example.com:1' }, json), proto);
  });

  it('refuses what the contract would refuse, in one line', () => {
    refused(addNodeArgs(base, undefined), /waiting for the chain config/);
    refused(addNodeArgs({ ...base, name: '' }, json), /node name must be 1-64/);
    refused(addNodeArgs({ ...base, name: 'no spaces' }, json), /node name must be/);
    refused(addNodeArgs({ ...base, name: 'node2' }, json), /node node2 is already a member/);
    refused(addNodeArgs({ ...base, org: 'org9' }, json), /pick a member organization/);
    refused(addNodeArgs({ ...base, publicKey: '04ab' }, json), /130 hex characters/);
    refused(addNodeArgs({ ...base, publicKey: json.nodes[0].publicKey }, json), /another node/);
    refused(addNodeArgs({ ...base, address: 'nowhere' }, json), /address must be host:port/);
    refused(addNodeArgs({ ...base, address: 'h:0' }, json), /host:port/);
    refused(addNodeArgs({ ...base, address: 'h:70000' }, json), /host:port/);
    refused(addNodeArgs({ ...base, power: '-1' }, json), /power must be a whole number/);
    refused(addNodeArgs({ ...base, power: '1.5' }, json), /power must be a whole number/);
    refused(addNodeArgs({ ...base, power: String(MAX_POWER + 1) }, json), /power must be/);
  });

  it('takes only power 0 on a solo chain', () => {
    const solo = chain(SOLO);
    accepted('add_node', addNodeArgs(base, solo.json), solo.proto);
    const validator = { ...base, power: '10' };
    refused(addNodeArgs(validator, solo.json), /solo chain cannot take validators/);
    assert.throws(
      () =>
        validateMembership(
          'add_node',
          { name: 'node5', org: 'org1', publicKey: key, power: 10 },
          solo.proto,
        ),
      /solo chain/,
    );
  });

  it('will not reuse the name of a node only in a scheduled set', () => {
    const { json: j } = chain({ ...FOUR, pending: { 9: { node1: 10, node2: 10, node3: 10 } } });
    // A validator only a scheduled set knows (not a member node) keeps its name too.
    j.pendingValidators[0].validators.push({
      name: 'ghost',
      org: 'org1',
      publicKey: key,
      power: 1,
    });
    refused(addNodeArgs({ ...base, name: 'ghost' }, j), /already a member/);
  });
});

describe('propose form: set_validator_power and remove_node', () => {
  const { proto, json } = chain(FOUR);

  it('builds what the contract accepts', () => {
    accepted(
      'set_validator_power',
      setValidatorPowerArgs({ name: 'node4', power: '10' }, json),
      proto,
    );
    assert.deepEqual(
      accepted(
        'set_validator_power',
        setValidatorPowerArgs({ name: 'node2', power: '0' }, json),
        proto,
      ),
      { name: 'node2', power: 0 },
    );
    assert.deepEqual(accepted('remove_node', removeNodeArgs('node2', json), proto), {
      name: 'node2',
    });
    accepted('remove_node', removeNodeArgs('node4', json), proto);
  });

  it('refuses unchanged power, unknown nodes and an empty validator set', () => {
    refused(setValidatorPowerArgs({ name: '', power: '1' }, json), /pick a member node/);
    refused(setValidatorPowerArgs({ name: 'node9', power: '1' }, json), /add_node first/);
    refused(setValidatorPowerArgs({ name: 'node1', power: '' }, json), /whole number/);
    refused(setValidatorPowerArgs({ name: 'node1', power: '10' }, json), /already has power 10/);
    refused(removeNodeArgs('', json), /pick a member node/);
    refused(removeNodeArgs('node9', json), /not a member node/);
    const one = chain({
      orgs: ['org1', 'org2'],
      nodes: { node1: ['org1', 5], node2: ['org2', 0] },
    });
    refused(setValidatorPowerArgs({ name: 'node1', power: '0' }, one.json), /no validator left/);
    assert.throws(
      () => validateMembership('set_validator_power', { name: 'node1', power: 0 }, one.proto),
      /no validator left/,
    );
    refused(removeNodeArgs('node1', one.json), /cannot remove node1: .*no validator left/);
    accepted('remove_node', removeNodeArgs('node2', one.json), one.proto);
  });

  it('counts scheduled sets: the last one is what a new change starts from', () => {
    const p = chain({ ...FOUR, pending: { 20: { node1: 10, node2: 10, node3: 10, node4: 7 } } });
    refused(setValidatorPowerArgs({ name: 'node4', power: '7' }, p.json), /already has power 7/);
    accepted(
      'set_validator_power',
      setValidatorPowerArgs({ name: 'node4', power: '0' }, p.json),
      p.proto,
    );
  });

  it('refuses validator changes on a solo chain but removes its non-validators', () => {
    const solo = chain({ ...SOLO, nodes: { node1: ['org1', 1], node2: ['org1', 0] } });
    refused(
      setValidatorPowerArgs({ name: 'node2', power: '1' }, solo.json),
      /solo chain's validator is fixed/,
    );
    refused(removeNodeArgs('node1', solo.json), /solo chain's validator is fixed/);
    accepted('remove_node', removeNodeArgs('node2', solo.json), solo.proto);
  });
});

describe('propose form: remove_org', () => {
  it('removes only an organization without nodes, never the last one', () => {
    const { proto, json } = chain({ ...FOUR, orgs: [...FOUR.orgs, 'org5'] });
    assert.deepEqual(accepted('remove_org', removeOrgArgs('org5', json), proto), { id: 'org5' });
    refused(removeOrgArgs('org2', json), /org2 still has nodes \(node2\)/);
    refused(removeOrgArgs('org9', json), /not a member organization/);
    refused(removeOrgArgs('', json), /pick a member organization/);
    refused(removeOrgArgs('org1', chain(SOLO).json), /no organization/);
  });
});

describe('propose form: add_org', () => {
  const tbft = chain(FOUR);
  const org5 = { id: 'org5', caCert: caPem(standard, 'org5'), tlsCaCert: caPem(standard, 'org5') };

  it('builds what the contract accepts (standard, cert mode, tbft)', () => {
    const args = accepted('add_org', addOrgArgs({ ...org5, keys: '' }, tbft.json), tbft.proto);
    assert.deepEqual(Object.keys(args), ['id', 'caCert', 'tlsCaCert']);
    // Pasted with surrounding blank lines, the PEM is trimmed to one certificate.
    const padded = { ...org5, caCert: `\n\n${org5.caCert}\n  `, keys: '' };
    accepted('add_org', addOrgArgs(padded, tbft.json), tbft.proto);
  });

  it('refuses missing, foreign, non-CA and wrong-curve certificates', () => {
    const f = { ...org5, keys: '' };
    refused(addOrgArgs({ ...f, id: 'org1' }, tbft.json), /org1 is already a member/);
    refused(addOrgArgs({ ...f, id: 'bad id' }, tbft.json), /organization id must be/);
    refused(addOrgArgs({ ...f, caCert: '' }, tbft.json), /caCert is required/);
    refused(addOrgArgs({ ...f, tlsCaCert: '' }, tbft.json), /tlsCaCert is required/);
    refused(addOrgArgs({ ...f, caCert: 'garbage' }, tbft.json), /caCert is not a readable PEM/);
    refused(
      addOrgArgs({ ...f, caCert: caPem(standard, 'org6') }, tbft.json),
      /caCert names organization "org6", not org5/,
    );
    refused(addOrgArgs({ ...f, caCert: leafPem('org5') }, tbft.json), /caCert is not a CA/);
    refused(addOrgArgs({ ...f, caCert: caPem(gm, 'org5') }, tbft.json), /SM2 key, not P-256/);
    refused(addOrgArgs({ ...f, caCert: 'x'.repeat(20_000) }, tbft.json), /longer than/);
  });

  it('wants an SM2 CA on a gm chain and a P-256 TLS CA under both profiles', () => {
    const g = chain({ ...FOUR, crypto: 'gm' });
    const f = {
      id: 'org5',
      caCert: caPem(gm, 'org5'),
      tlsCaCert: caPem(standard, 'org5'),
      keys: '',
    };
    accepted('add_org', addOrgArgs(f, g.json), g.proto);
    refused(addOrgArgs({ ...f, caCert: caPem(standard, 'org5') }, g.json), /P-256 key, not SM2/);
    refused(addOrgArgs({ ...f, tlsCaCert: caPem(gm, 'org5') }, g.json), /tlsCaCert has a SM2 key/);
  });

  it('takes what the chain needs: no TLS CA on solo, keys in key mode', () => {
    const solo = chain(SOLO);
    const noTls = addOrgArgs({ ...org5, tlsCaCert: '', keys: '' }, solo.json);
    assert.deepEqual(Object.keys(accepted('add_org', noTls, solo.proto)), ['id', 'caCert']);

    const k = chain({ ...SOLO, identityMode: 'key' });
    const admin = hex(standard.generateKeyPair().publicKey);
    const client = hex(standard.generateKeyPair().publicKey);
    const keys = JSON.stringify([
      { name: 'admin', role: 'admin', publicKey: admin },
      { name: 'client', role: 'client', publicKey: `0x${client.toUpperCase()}` },
    ]);
    const f = { id: 'org5', caCert: '', tlsCaCert: '', keys };
    assert.deepEqual(accepted('add_org', addOrgArgs(f, k.json), k.proto), {
      id: 'org5',
      keys: [
        { name: 'admin', role: 'admin', publicKey: admin },
        { name: 'client', role: 'client', publicKey: client },
      ],
    });
    refused(addOrgArgs({ ...f, keys: '' }, k.json), /keys is required in key identity mode/);
    refused(addOrgArgs({ ...f, keys: '[{' }, k.json), /keys is not JSON/);
    refused(addOrgArgs({ ...f, keys: '[]' }, k.json), /list of 1\.\.256/);
    refused(addOrgArgs({ ...f, keys: '[1]' }, k.json), /keys\[0\] must be an object/);
    const one = (e: Record<string, unknown>) => JSON.stringify([e]);
    const good = { name: 'admin', role: 'admin', publicKey: admin };
    refused(addOrgArgs({ ...f, keys: one({ ...good, role: 'root' }) }, k.json), /role must be/);
    refused(addOrgArgs({ ...f, keys: one({ ...good, publicKey: '04' }) }, k.json), /publicKey/);
    refused(addOrgArgs({ ...f, keys: one({ ...good, colour: 1 }) }, k.json), /unknown field/);
    refused(
      addOrgArgs({ ...f, keys: JSON.stringify([good, { ...good, publicKey: client }]) }, k.json),
      /key name admin repeats/,
    );
  });
});
