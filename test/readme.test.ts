import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { flagOf, settings, settingsOf } from '../src/config/config.js';
import { ServiceMetrics } from '../src/metrics/metrics.js';
import { packageRoot } from '../src/config/package-root.js';

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');

describe('README', () => {
  it('starts with the two commands: install and start, run the tests', () => {
    const firstBlock = /```sh\n([^]*?)```/.exec(readme)?.[1] ?? '';
    const commands = firstBlock
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.split('#')[0]?.trim());
    assert.deepEqual(commands, ['npm ci && npm start', 'npm test']);
  });

  it('documents every setting with its flag and default', () => {
    for (const setting of settings) {
      const row = readme
        .split('\n')
        .find((line) => line.startsWith(`| \`${setting.env}\` (\`--${flagOf(setting.env)}\`) |`));
      assert.ok(row, `${setting.env} has a row in the configuration table`);
      if (setting.defaultValue !== undefined && setting.env !== 'MODEL_DIR') {
        assert.ok(
          row.includes(`| \`${setting.defaultValue}\` |`),
          `${setting.env}'s default ${setting.defaultValue} is documented`,
        );
      }
    }
  });

  it('names exactly the settings sentiment-batch reads (the engine scope)', () => {
    const paragraph = /The batch job \[`sentiment-batch`\][^]*?\.\n\n/.exec(readme)?.[0] ?? '';
    const named = [...paragraph.matchAll(/`([A-Z][A-Z_]+)`/g)].map((m) => m[1]);
    assert.deepEqual(
      named,
      settingsOf('engine').map((s) => s.env),
    );
  });

  it('has a source map that names every file under src/ in its folder row, and only files that exist', () => {
    const section = /### Source map\n([^]*?)\n## /.exec(readme)?.[1] ?? '';
    const rows = new Map<string, string>();
    for (const [, path, holds] of section.matchAll(/^\| `([^`]+)` \| (.*) \|$/gm))
      rows.set(path as string, holds as string);
    const src = join(packageRoot, 'src');
    const files = (readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `src/${f}`);
    for (const file of files) {
      if (rows.has(file)) continue;
      const folder = `${dirname(file)}/`;
      const holds = rows.get(folder);
      assert.ok(holds !== undefined, `${folder} has a row in the README's source map (for ${file})`);
      assert.ok(holds.includes(`\`${file.slice(folder.length)}\``), `${file} is named in the row of ${folder}`);
    }
    for (const [path, holds] of rows) {
      assert.ok(existsSync(join(packageRoot, path)), `${path} exists`);
      if (!path.startsWith('src/') || !path.endsWith('/')) continue;
      for (const [, name] of holds.matchAll(/`([\w.-]+\.ts)`/g)) {
        assert.ok(
          existsSync(join(packageRoot, path, name as string)),
          `${path}${name} (named in the source map) exists`,
        );
      }
    }
    assert.ok(files.length > 0 && relative(packageRoot, src) === 'src');
  });

  it('names only source paths that exist', () => {
    for (const [, path] of readme.matchAll(/\b(src\/[\w./-]+\.ts)\b/g)) {
      assert.ok(existsSync(join(packageRoot, path as string)), `${path} (named in the README) exists`);
    }
  });

  it('documents every sentiment_ metric the service exports', async () => {
    const metrics = new ServiceMetrics({
      queueCapacity: 1,
      model: { model: 'm', engine: 'e', device: 'd', backend: 'b' },
    });
    const names = (await metrics.registry.getMetricsAsJSON())
      .map((metric) => metric.name)
      .filter((name) => name.startsWith('sentiment_'));
    assert.equal(names.length, 16);
    for (const name of names) assert.match(readme, new RegExp(`^\\| \`${name}\` \\|`, 'm'), name);
  });
});
