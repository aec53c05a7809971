/** idcode's shared rules (code format, who may issue) and the bulk command's CSV reader. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCodesCsv } from '../../src/apps/idcode/bulk.ts';
import {
  ancestorsOf,
  type CodeRecord,
  idcodeErrorOf,
  issuersOf,
  parseCode,
} from '../../src/apps/idcode/rules.ts';
import { ArchiError } from '../../src/types/errors.ts';

describe('parseCode', () => {
  it('takes roots, regions and segments as specified', () => {
    assert.deepEqual(parseCode('MA.156'), { code: 'MA.156', parent: null, depth: 0 });
    assert.deepEqual(parseCode('MA.156.1301'), { code: 'MA.156.1301', parent: 'MA.156', depth: 1 });
    assert.deepEqual(parseCode('MA.156.1301.02'), {
      code: 'MA.156.1301.02',
      parent: 'MA.156.1301',
      depth: 2,
    });
    assert.ok(parseCode(`MA.156.1301.${Array(8).fill('ABCDEFGHIJKLMNOP').join('.')}`));
  });

  it('refuses everything else', () => {
    for (const bad of [
      'MA',
      'MA.',
      'MA.15',
      'MA.1560',
      'MB.156',
      'MA.156.130',
      'MA.156.13011',
      'MA.156.1301.',
      'MA.156.1301.a',
      'MA.156.1301.A_B',
      'MA.156.1301.ABCDEFGHIJKLMNOPQ',
      `MA.156.1301.${Array(9).fill('1').join('.')}`,
      ' MA.156',
      null,
      156,
    ]) {
      assert.equal(parseCode(bad), null, String(bad));
    }
  });

  it('lists ancestors nearest first', () => {
    assert.deepEqual(ancestorsOf('MA.156.1301.02.L1'), ['MA.156.1301.02', 'MA.156.1301', 'MA.156']);
    assert.deepEqual(ancestorsOf('MA.156'), []);
  });
});

describe('issuersOf', () => {
  const rec = (code: string, owner: string, delegate: string | null = null) =>
    ({ code, owner, delegate }) as CodeRecord;

  it('is the owner and the delegates above, up to where another organization holds a code', () => {
    const line = [
      rec('MA.156.1301.02', 'org1'),
      rec('MA.156.1301', 'org1', 'org2'),
      rec('MA.156', 'org3', 'org4'),
    ];
    assert.deepEqual(issuersOf(line), ['org1', 'org2']);
    assert.deepEqual(issuersOf([rec('MA.156', 'org3', 'org4')]), ['org3', 'org4']);
  });
});

describe('idcodeErrorOf', () => {
  it('finds the stable code at the start or after context, and nothing else', () => {
    assert.deepEqual(idcodeErrorOf('IDCODE_EXISTS: MA.156.1301 is issued'), {
      code: 'IDCODE_EXISTS',
      text: 'MA.156.1301 is issued',
    });
    assert.deepEqual(idcodeErrorOf('approve proposal 2 failed in block 9: IDCODE_UNKNOWN_ORG: x'), {
      code: 'IDCODE_UNKNOWN_ORG',
      text: 'approve proposal 2 failed in block 9: x',
    });
    assert.equal(idcodeErrorOf('IDCODE_MADE_UP: x'), undefined);
    assert.equal(idcodeErrorOf('requirement failed'), undefined);
  });
});

describe('parseCodesCsv', () => {
  it('reads rows with a header, quotes, metadata and blank lines', () => {
    const rows = parseCodesCsv(
      'code,name,kind,metadata\r\nMA.156.1301.05,"Lamps, street",group,\n\nMA.156.1301.05.1,"Lamp ""A""",device,"{""pole"":1}"\n',
    );
    assert.deepEqual(rows, [
      { line: 2, code: 'MA.156.1301.05', name: 'Lamps, street', kind: 'group' },
      {
        line: 4,
        code: 'MA.156.1301.05.1',
        name: 'Lamp "A"',
        kind: 'device',
        metadata: { pole: 1 },
      },
    ]);
  });

  it('sends nothing from a file with a bad row, naming the lines', () => {
    const refused = (text: string, code: string, re: RegExp) =>
      assert.throws(
        () => parseCodesCsv(text),
        (e: unknown) => e instanceof ArchiError && e.code === code && re.test(e.message),
      );
    refused('MA.156.1301.1,a,device\nMA.156.13-1.2,b,device\n', 'IDCODE_BAD_FORMAT', /line 2/);
    refused('MA.156.1301.1,a,Device\n', 'IDCODE_INVALID_ARGS', /line 1: kind/);
    refused('MA.156.1301.1,,device\n', 'IDCODE_INVALID_ARGS', /line 1: name/);
    refused('MA.156.1301.1,a,device\nMA.156.1301.1,b,device\n', 'IDCODE_INVALID_ARGS', /twice/);
    refused('MA.156.1301.1,a,device,[1]\n', 'IDCODE_INVALID_ARGS', /metadata/);
    refused('MA.156.1301.1,"a,device\n', 'IDCODE_INVALID_ARGS', /expected code,name,kind/);
    refused('MA.156.1301.1,a\n', 'IDCODE_INVALID_ARGS', /expected code,name,kind/);
    assert.throws(() => parseCodesCsv('code,name,kind\n'), /no codes/);
  });
});
