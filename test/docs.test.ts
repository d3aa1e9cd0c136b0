import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { settingsOf } from '../src/config/config.js';
import { packageRoot } from '../src/config/package-root.js';
import { ServiceMetrics } from '../src/metrics/metrics.js';

const doc = (path: string): string => readFileSync(join(packageRoot, path), 'utf8');
const docsDir = join(packageRoot, 'docs');
const docs = readdirSync(docsDir).filter((name) => name.endsWith('.md'));

describe('docs/', () => {
  it('docs/BATCH.md names exactly the settings sentiment-batch reads (the engine scope)', () => {
    const paragraph = /The batch job `sentiment-batch` reads[^]*?\.\n\n/.exec(doc('docs/BATCH.md'))?.[0] ?? '';
    const named = [...paragraph.matchAll(/`([A-Z][A-Z_]+)`/g)].map((m) => m[1]);
    assert.deepEqual(
      named,
      settingsOf('engine').map((s) => s.env),
    );
  });

  it('docs/ARCHITECTURE.md has a source map that names every file under src/ in its folder row, and only files that exist', () => {
    const section = /## Source map\n([^]*?)(\n## |$)/.exec(doc('docs/ARCHITECTURE.md'))?.[1] ?? '';
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
      assert.ok(holds !== undefined, `${folder} has a row in the source map (for ${file})`);
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
    for (const name of docs) {
      for (const [, path] of doc(`docs/${name}`).matchAll(/\b(src\/[\w./-]+\.ts)\b/g)) {
        assert.ok(existsSync(join(packageRoot, path as string)), `${path} (named in docs/${name}) exists`);
      }
    }
  });

  it('links only to files that exist (README and docs/)', () => {
    for (const path of ['README.md', ...docs.map((name) => `docs/${name}`)]) {
      for (const [, target] of doc(path).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target as string)) continue;
        assert.ok(existsSync(join(packageRoot, dirname(path), target as string)), `${path} links to ${target}`);
      }
    }
  });

  it("links only to headings that exist within the same file (GitHub's anchors)", () => {
    const slug = (heading: string): string =>
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-');
    for (const path of ['README.md', ...docs.map((name) => `docs/${name}`)]) {
      const text = doc(path);
      const anchors = new Set([...text.matchAll(/^#+ (.+)$/gm)].map(([, heading]) => slug(heading as string)));
      for (const [, anchor] of text.matchAll(/\]\(#([^)]+)\)/g))
        assert.ok(anchors.has(anchor as string), `${path} links to #${anchor}`);
    }
  });

  it('docs/OBSERVABILITY.md documents every sentiment_ metric the service exports', async () => {
    const observability = doc('docs/OBSERVABILITY.md');
    const metrics = new ServiceMetrics({
      queueCapacity: 1,
      model: { model: 'm', engine: 'e', device: 'd', backend: 'b' },
    });
    const names = (await metrics.registry.getMetricsAsJSON())
      .map((metric) => metric.name)
      .filter((name) => name.startsWith('sentiment_'));
    assert.ok(names.includes('sentiment_rejections_total'), 'the registry lists the service metrics');
    for (const name of names) assert.match(observability, new RegExp(`^\\| \`${name}\` \\|`, 'm'), name);
  });
});
