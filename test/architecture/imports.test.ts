import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/config/package-root.js';
import { importCycles, importGraph, importsAcross } from '../support/import-graph.js';

// Dependencies point one way: server -> transports (http, grpc) -> inference -> queue / engine -> model ->
// config / errors. Read from the TypeScript sources, so a new cycle fails here before anyone reads the code.

const graph = importGraph(join(packageRoot, 'src'));

describe('import structure of src/', () => {
  it('finds a cycle when there is one (the checker itself)', () => {
    const withCycle = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
      ['e.ts', ['e.ts']],
    ]);
    assert.deepEqual(importCycles(withCycle), [['a.ts', 'b.ts', 'c.ts'], ['e.ts']]);
    assert.deepEqual(
      importCycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
      [],
    );
  });

  it('reads every source file', () => {
    assert.ok(graph.size > 50, `${graph.size} files`);
    assert.ok(graph.get('app.ts')?.includes('inference/inference.ts'));
  });

  it('has no import cycles', () => {
    assert.deepEqual(importCycles(graph), []);
  });

  it('keeps each transport out of the others, and the core out of the transports', () => {
    assert.deepEqual(importsAcross(graph, 'grpc', ['http']), []);
    assert.deepEqual(importsAcross(graph, 'http', ['grpc']), []);
    for (const core of ['inference', 'queue', 'engine', 'model', 'config', 'errors', 'batch-job'])
      assert.deepEqual(importsAcross(graph, core, ['http', 'grpc', 'cli']), [], core);
  });

  it('keeps every engine backend out of the others’ folders', () => {
    assert.deepEqual(importsAcross(graph, 'engine/onnx', ['engine/tfjs']), []);
    assert.deepEqual(importsAcross(graph, 'engine/tfjs', ['engine/onnx']), []);
  });

  it('keeps the config and the errors below everything else', () => {
    const outside = (file: string): boolean => !/^(config|errors)\//.test(file) && !file.endsWith('engine-choices.ts');
    for (const folder of ['config', 'errors']) {
      const upward = (graph.get(folder) ?? []).concat(
        [...graph].filter(([file]) => file.startsWith(`${folder}/`)).flatMap(([, targets]) => targets),
      );
      assert.deepEqual(upward.filter(outside), [], folder);
    }
  });
});
