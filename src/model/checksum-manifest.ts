import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { ModelDirError } from './model-dir.js';

/** The optional manifest of a model directory, in `sha256sum` format: one `<hex digest>  <relative path>` a line. */
export const checksumManifestFile = 'model.sha256';

const line = /^([0-9a-fA-F]{64}) [ *](.+)$/;

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * When the directory holds model.sha256, every file it lists must exist and have its digest, or start-up stops
 * naming the file: a model file damaged on a volume or in a copy would otherwise serve different scores silently.
 * Without a manifest there is nothing to check. Returns the files checked.
 */
export async function verifyChecksumManifest(dir: string): Promise<string[]> {
  const manifestPath = join(dir, checksumManifestFile);
  let text: string;
  try {
    if (!statSync(manifestPath).isFile()) return [];
    text = readFileSync(manifestPath, 'utf8');
  } catch {
    return [];
  }
  const checked: string[] = [];
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const entry = raw.replace(/\r$/, '');
    if (entry.trim() === '') continue;
    const match = line.exec(entry);
    if (match === null) {
      throw new ModelDirError(
        dir,
        `${checksumManifestFile} line ${index + 1} is not "<sha256 hex>  <file>" (sha256sum format)`,
      );
    }
    const [, expected, file] = match as unknown as [string, string, string];
    const relative = normalize(file);
    if (isAbsolute(relative) || relative.startsWith('..')) {
      throw new ModelDirError(dir, `${checksumManifestFile} line ${index + 1}: ${file} is outside the model directory`);
    }
    const path = join(dir, relative);
    let actual: string;
    try {
      actual = await sha256Of(path);
    } catch {
      throw new ModelDirError(dir, `${relative} is listed in ${checksumManifestFile} but cannot be read`);
    }
    if (actual !== expected.toLowerCase()) {
      throw new ModelDirError(
        dir,
        `${relative} does not match ${checksumManifestFile} (sha256 ${actual}, expected ${expected.toLowerCase()}): the file is damaged or was replaced`,
      );
    }
    checked.push(relative);
  }
  return checked;
}
