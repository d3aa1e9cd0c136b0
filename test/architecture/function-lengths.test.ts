import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/config/package-root.js';
import { functionLengths, functionLengthsIn } from '../support/function-lengths.js';

// No function in src/ over 100 lines: past that, a function does several jobs that names would tell apart better
// than comments. Biome has no such rule, so the TypeScript compiler measures them here.
const longest = 100;

/** Functions allowed past the limit, by file and name, each with why it reads better whole. None today. */
const exceptions: Readonly<Record<string, string>> = {};

describe('function lengths in src/', () => {
  it('measures every kind of function, nested ones included (the checker itself)', () => {
    const source = [
      'export function outer(): number {', // line 1
      '  const inner = (): number => {',
      '    return 1;',
      '  };',
      '  return inner();',
      '}',
      'class Shape {',
      '  area(): number {',
      '    return 0;',
      '  }',
      '}',
      'const handlers = { onCall: function () {} };',
    ].join('\n');
    assert.deepEqual(
      functionLengthsIn('x.ts', source).map(({ at, name, lines }) => `${at} ${name} ${lines}`),
      ['x.ts:1 outer 6', 'x.ts:2 inner 3', 'x.ts:8 area 3', 'x.ts:12 onCall 1'],
    );
  });

  it(`has none over ${longest} lines`, () => {
    const found = functionLengths(join(packageRoot, 'src'));
    assert.ok(found.length > 500, `${found.length} functions`);
    const tooLong = found
      .filter(({ at, name, lines }) => lines > longest && exceptions[`${at.split(':')[0]} ${name}`] === undefined)
      .map(({ at, name, lines }) => `${at} ${name}: ${lines} lines`);
    assert.deepEqual(tooLong, []);
  });
});
