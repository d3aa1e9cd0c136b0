import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { flagOf, settings } from '../src/config/config.js';
import { packageRoot } from '../src/config/package-root.js';
import { rejectionReasons, rejectionStatus, type RejectionReason } from '../src/errors/rejections.js';
import { curlExamples, jsonDifference } from './support/readme-examples.js';
import { startApp, type RunningApp } from './support/running-app.js';

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');

/**
 * How far a printed score may be from the live one, by the dtype the server runs: float32 sums may end differently
 * on another CPU; int8 kernels differ between instruction sets (VNNI or not) by more.
 */
function scoreTolerance(dtype: string): number {
  return dtype === 'fp32' ? 1e-6 : 1e-3;
}

/** The row of the settings table for a variable, e.g. "| `PORT` (`--port`) | `5000` | … |". */
function settingRow(env: string): string | undefined {
  return readme.split('\n').find((line) => line.startsWith(`| \`${env}\` (\`--${flagOf(env)}\`) |`));
}

/** The rows of the table whose header line is `header`, as their cells. */
function tableRows(header: string): string[][] {
  const lines = readme.split('\n');
  const start = lines.indexOf(header);
  assert.ok(start >= 0, `the README has a table headed ${header}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

describe('README', () => {
  it('starts with the two commands: install and start, run the tests', () => {
    const firstBlock = /```sh\n([^]*?)```/.exec(readme)?.[1] ?? '';
    const commands = firstBlock
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.split('#')[0]?.trim());
    assert.deepEqual(commands, ['npm ci && npm start', 'npm test']);
  });

  it('is at most 300 lines: a page a newcomer scans; the rest lives in docs/, bench/, k8s/ and training/', () => {
    assert.ok(readme.split('\n').length <= 300, `${readme.split('\n').length} lines`);
  });

  it('documents every setting with its flag and default', () => {
    for (const setting of settings) {
      const row = settingRow(setting.env);
      assert.ok(row, `${setting.env} has a row in the configuration table`);
      if (setting.defaultValue !== undefined && setting.env !== 'MODEL_DIR') {
        assert.ok(
          row.includes(`| \`${setting.defaultValue}\` |`),
          `${setting.env}'s default ${setting.defaultValue} is documented`,
        );
      }
    }
  });

  it("states the Node version package.json's engines and .nvmrc give", () => {
    const major = readFileSync(join(packageRoot, '.nvmrc'), 'utf8').trim();
    const engines = (
      JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node;
    assert.equal(engines, `>=${major}`);
    assert.match(readme, new RegExp(`Node\\.js ${major} LTS \\(\`\\.nvmrc\`; \`engines\` says \`>=${major}\`\\)`));
    for (const dockerfile of ['Dockerfile', 'Dockerfile.gpu']) {
      const image = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(readFileSync(join(packageRoot, dockerfile), 'utf8'))?.[1];
      assert.equal(image, major, `${dockerfile}'s base image`);
    }
  });

  it('names only source paths that exist', () => {
    for (const [, path] of readme.matchAll(/\b(src\/[\w./-]+\.ts)\b/g)) {
      assert.ok(existsSync(join(packageRoot, path as string)), `${path} (named in the README) exists`);
    }
  });

  it('gives every rejection reason the status src/errors/rejections.ts declares, in the error table', () => {
    const reasons = new Map<string, number>();
    for (const [status, , reason] of tableRows('| status | when | `sentiment_rejections_total` reason |')) {
      const named = /^`(\w+)`/.exec(reason ?? '')?.[1];
      if (named !== undefined) reasons.set(named, Number(status));
    }
    for (const reason of rejectionReasons) {
      assert.ok(reasons.has(reason), `${reason} has a row`);
      if (reason !== 'client_gone')
        assert.equal(reasons.get(reason), rejectionStatus[reason as RejectionReason], reason);
    }
  });
});

describe("README's examples against the running server (embedded model)", () => {
  const examples = curlExamples(readme);
  /** One server per set of settings the examples start with, keyed by those settings. */
  const servers = new Map<string, RunningApp>();
  const keyOf = (env: Record<string, string>): string => JSON.stringify(env);
  const serverFor = (env: Record<string, string>): RunningApp => {
    const server = servers.get(keyOf(env));
    assert.ok(server, `a server with ${keyOf(env)}`);
    return server;
  };

  before(async () => {
    for (const env of [{}, ...examples.map((example) => example.env)]) {
      if (!servers.has(keyOf(env))) servers.set(keyOf(env), await startApp(env));
    }
  });
  after(async () => {
    for (const server of servers.values()) await server.service.close();
  });

  it('finds the examples: every route the README shows, with and without API keys', () => {
    const paths = new Set(examples.map((example) => example.path));
    for (const path of ['/analyze', '/', '/predict', '/v2', '/v2/models/sst2-minilm-l6/infer'])
      assert.ok(paths.has(path), path);
    assert.ok(examples.some((example) => example.env.API_KEYS !== undefined));
    assert.ok(examples.some((example) => example.status >= 400));
  });

  /** The dtype the examples' server runs (DTYPE's default on this machine), for the score tolerance. */
  const servedDtype = async (): Promise<string> => {
    const info = (await (await fetch(`${serverFor({}).url}/info`)).json()) as { model: { dtype: string } };
    return info.model.dtype;
  };

  for (const example of examples) {
    it(`${example.command.slice(0, 110)}${Object.keys(example.env).length > 0 ? ` (${keyOf(example.env)})` : ''}`, async () => {
      const response = await fetch(`${serverFor(example.env).url}${example.path}`, {
        method: example.method,
        headers: example.headers,
        body: example.body,
      });
      const text = await response.text();
      assert.equal(response.status, example.status, `${example.command} answered ${text}`);
      const tolerance = scoreTolerance(await servedDtype());
      const difference = jsonDifference(JSON.parse(text), JSON.parse(example.expected), tolerance);
      assert.equal(difference, undefined, `${example.command}\n  answered ${text}\n  ${difference}`);
    });
  }

  it('shows the health endpoints as they answer', async () => {
    const rows = tableRows('| route | answer |');
    for (const path of ['/healthz', '/readyz']) {
      const row = rows.find(([route]) => route === `\`GET ${path}\``);
      assert.ok(row, `${path} has a row`);
      const shown = /`200 (\{[^`]*\})`/.exec(row[1] ?? '')?.[1];
      assert.ok(shown, `${path}'s row shows its 200 answer`);
      const response = await fetch(`${serverFor({}).url}${path}`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), JSON.parse(shown), path);
    }
  });

  it('shows the defaults /info reports for the batching settings and request limits', async () => {
    const info = (await (await fetch(`${serverFor({}).url}/info`)).json()) as Record<string, Record<string, unknown>>;
    const live = { ...info.batching, ...info.limits };
    let checked = 0;
    for (const [field, value] of Object.entries(live)) {
      const setting = settings.find((candidate) => candidate.env === field.toUpperCase());
      if (setting === undefined || typeof value !== 'number') continue;
      const row = settingRow(setting.env) ?? '';
      const shownDefault = /^\| [^|]+ \| `([^`]+)` \|/.exec(row)?.[1];
      if (shownDefault === 'auto') {
        assert.ok(
          row.includes(`${value} for the default`),
          `${setting.env}=auto: the row names ${value}, /info's value`,
        );
      } else {
        assert.equal(Number(shownDefault), value, `${setting.env}: README shows ${shownDefault}, /info ${value}`);
      }
      checked++;
    }
    assert.ok(checked >= 8, `${checked} settings compared with /info`);
  });

  it('answers each error status of the table that no rejection reason or example covers', async () => {
    const url = serverFor({}).url;
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      fetch(`${url}/analyze`, { method: 'POST', headers, body });
    const probes: Record<number, () => Promise<Response>> = {
      400: () => post('{"text":'),
      413: () => post(JSON.stringify({ text: 'x'.repeat(1_048_577) })),
      422: () => post(JSON.stringify({ text: 'great '.repeat(600), truncate: false })),
    };
    const shownByExample = new Set(examples.map((example) => example.status));
    const coveredElsewhere = new Set([500]); // an engine failure: test/http/routes/hostile-input.test.ts
    for (const [status, , reason] of tableRows('| status | when | `sentiment_rejections_total` reason |')) {
      if (!/^\d{3}$/.test(status ?? '') || reason !== '') continue;
      const code = Number(status);
      if (shownByExample.has(code) && probes[code] === undefined) continue;
      if (coveredElsewhere.has(code)) continue;
      const probe = probes[code];
      assert.ok(probe, `status ${code} of the error table is checked`);
      assert.equal((await probe()).status, code);
    }
  });
});
