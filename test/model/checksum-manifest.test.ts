import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { verifyChecksumManifest } from '../../src/model/checksum-manifest.js';
import { ModelDirError } from '../../src/model/model-dir.js';

const dir = mkdtempSync(join(tmpdir(), 'manifest-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('verifyChecksumManifest (model.sha256)', () => {
  it('checks nothing when the directory has no manifest', async () => {
    assert.deepEqual(await verifyChecksumManifest(dir), []);
  });

  it('passes files whose digests match (sha256sum format, text and binary markers)', async () => {
    writeFileSync(join(dir, 'a.json'), '{"a":1}');
    writeFileSync(join(dir, 'b.bin'), 'weights');
    writeFileSync(join(dir, 'model.sha256'), `${sha('{"a":1}')}  a.json\n${sha('weights').toUpperCase()} *b.bin\n`);
    assert.deepEqual(await verifyChecksumManifest(dir), ['a.json', 'b.bin']);
  });

  it('stops on a changed file, naming it and the manifest', async () => {
    const weights = readFileSync(join(dir, 'b.bin'));
    weights[0] = 0x57 ^ 0xff;
    writeFileSync(join(dir, 'b.bin'), weights);
    await assert.rejects(verifyChecksumManifest(dir), (error: unknown) => {
      assert.ok(error instanceof ModelDirError);
      assert.match(error.message, /b\.bin does not match model\.sha256 .*damaged or was replaced/);
      return true;
    });
  });

  it('stops on a listed file that is missing, a malformed line, or a path outside the directory', async () => {
    writeFileSync(join(dir, 'model.sha256'), `${sha('x')}  missing.onnx\n`);
    await assert.rejects(verifyChecksumManifest(dir), /missing\.onnx is listed in model\.sha256 but cannot be read/);
    writeFileSync(join(dir, 'model.sha256'), 'not a checksum line\n');
    await assert.rejects(verifyChecksumManifest(dir), /model\.sha256 line 1 is not/);
    writeFileSync(join(dir, 'model.sha256'), `${sha('x')}  ../etc/passwd\n`);
    await assert.rejects(verifyChecksumManifest(dir), /outside the model directory/);
  });
});
