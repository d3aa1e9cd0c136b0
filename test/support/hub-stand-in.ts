import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { settings } from '../../src/config/config.js';

// A local stand-in for the Hugging Face Hub's file API, enough for huggingface_hub and this service:
//   HEAD|GET /{org}/{name}/resolve/{revision}/{path}  -> 200 (small file) or 302 to a CDN (LFS file: another
//   origin, another port here, /cdn/{org}/{name}/{sha256}), with
//   X-Repo-Commit, ETag (git blob sha1), X-Linked-Etag / X-Linked-Size (sha256 / size of an LFS file);
//   errors as the Hub sends them: X-Error-Code RepoNotFound (401 without a token, 404 with one), GatedRepo (401 / 403),
//   RevisionNotFound, EntryNotFound (404, with X-Repo-Commit). The CDN answers Range requests.

export interface StandInRepo {
  /** commit sha -> (path -> content). */
  commits: Record<string, Map<string, Buffer>>;
  /** branch or tag -> commit sha. */
  refs: Record<string, string>;
  /** Only HUB_TOKEN may read it. */
  gated?: boolean;
  /** A renamed repository: its old id answers with a relative redirect to this one, as the Hub does. */
  renamedTo?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  range: string | undefined;
}

/** Faults keyed by `${repoId}/${path}` of the file whose content the CDN or the resolve endpoint sends. */
export interface Faults {
  /** The next GET of the content sends half of it and cuts the connection. */
  dropOnce: Set<string>;
  /** The next GET of the content sends half of it, then nothing more, the connection left open. */
  stallOnce: Set<string>;
  /** Every GET of the content sends it with one byte changed. */
  corrupt: Set<string>;
  /** The next this-many requests of any kind get a 503. */
  unavailable: number;
}

export interface HubStandIn {
  url: string;
  repos: Map<string, StandInRepo>;
  requests: RecordedRequest[];
  faults: Faults;
  /** GETs that carried a file's content, by `${repoId}/${path}`. */
  contentGets(key: string): number;
  close(): Promise<void>;
}

export const HUB_TOKEN = 'hf_standInTestToken';

/** The model the service ships, taken from the MODEL_DIR default so a new default model is served the same way. */
export const defaultModelDir = (() => {
  const dir = settings.find((s) => s.env === 'MODEL_DIR')?.defaultValue;
  if (dir === undefined) throw new Error('MODEL_DIR has no default');
  return dir;
})();

export function readTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (at: string): void => {
    for (const entry of readdirSync(at)) {
      const path = join(at, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path).split('\\').join('/'), readFileSync(path));
    }
  };
  walk(dir);
  return files;
}

/** A made-up, stable commit sha. */
export function commitSha(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

const gitBlobSha = (content: Buffer): string =>
  createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
const sha256 = (content: Buffer): string => createHash('sha256').update(content).digest('hex');
const isLfs = (path: string, content: Buffer): boolean =>
  /\.(onnx|safetensors|bin)$/.test(path) || content.length > 1024 * 1024;

export async function startHubStandIn(repos: Record<string, StandInRepo>): Promise<HubStandIn> {
  const repoMap = new Map(Object.entries(repos));
  const requests: RecordedRequest[] = [];
  const faults: Faults = { dropOnce: new Set(), stallOnce: new Set(), corrupt: new Set(), unavailable: 0 };
  const contentGets = new Map<string, number>();
  // `${repoId}/${sha256}` -> the file's key and content, for the CDN.
  const lfsObjects = new Map<string, { key: string; content: Buffer }>();
  for (const [repoId, repo] of repoMap) {
    for (const files of Object.values(repo.commits)) {
      for (const [path, content] of files) {
        if (isLfs(path, content)) lfsObjects.set(`${repoId}/${sha256(content)}`, { key: `${repoId}/${path}`, content });
      }
    }
  }

  let origin = '';
  let cdnOrigin = '';
  const fail = (res: ServerResponse, status: number, code: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, {
      'x-error-code': code,
      'x-error-message': code,
      'content-type': 'application/json',
      ...headers,
    });
    res.end(JSON.stringify({ error: code }));
  };

  const sendContent = (
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    content: Buffer,
    headers: Record<string, string>,
  ): void => {
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-length': String(content.length) });
      res.end();
      return;
    }
    contentGets.set(key, (contentGets.get(key) ?? 0) + 1);
    let body = content;
    if (faults.corrupt.has(key)) {
      body = Buffer.from(content);
      body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
    }
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const rangeHeaders: Record<string, string> = {};
    if (range !== null && Number(range[1]) < body.length) {
      const start = Number(range[1]);
      rangeHeaders['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
      body = body.subarray(start);
      status = 206;
    }
    res.writeHead(status, {
      ...headers,
      ...rangeHeaders,
      'content-length': String(body.length),
      'accept-ranges': 'bytes',
    });
    if (faults.dropOnce.delete(key)) {
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
      return;
    }
    if (faults.stallOnce.delete(key)) {
      res.write(body.subarray(0, body.length >> 1));
      return;
    }
    res.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      authorization: req.headers.authorization,
      range: req.headers.range,
    });
    if (faults.unavailable > 0) {
      faults.unavailable--;
      fail(res, 503, 'ServiceUnavailable');
      return;
    }
    const cdn = /^\/cdn\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(url.pathname);
    if (cdn !== null) {
      const object = lfsObjects.get(`${cdn[1]}/${cdn[2]}`);
      if (object === undefined) return fail(res, 404, 'NoSuchKey');
      return sendContent(req, res, object.key, object.content, { etag: `"${cdn[2]}"` });
    }
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (match === null || (req.method !== 'GET' && req.method !== 'HEAD')) return fail(res, 404, 'NotFound');
    const [, repoId = '', quotedRevision = '', quotedPath = ''] = match;
    const revision = decodeURIComponent(quotedRevision);
    const path = quotedPath.split('/').map(decodeURIComponent).join('/');
    const repo = repoMap.get(repoId);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token !== undefined && token !== HUB_TOKEN && !repo?.gated) {
      res.writeHead(401, { 'x-error-message': 'Invalid credentials in Authorization header' });
      return void res.end();
    }
    if (repo === undefined) return fail(res, token === undefined ? 401 : 404, 'RepoNotFound');
    if (repo.renamedTo !== undefined) {
      res.writeHead(307, { location: `/${repo.renamedTo}/resolve/${quotedRevision}/${quotedPath}` });
      return void res.end();
    }
    if (repo.gated && token !== HUB_TOKEN) return fail(res, token === undefined ? 401 : 403, 'GatedRepo');
    const commit = repo.commits[revision] !== undefined ? revision : repo.refs[revision];
    const files = commit === undefined ? undefined : repo.commits[commit];
    if (commit === undefined || files === undefined) return fail(res, 404, 'RevisionNotFound');
    const content = files.get(path);
    if (content === undefined) return fail(res, 404, 'EntryNotFound', { 'x-repo-commit': commit });
    const key = `${repoId}/${path}`;
    if (isLfs(path, content)) {
      const sha = sha256(content);
      res.writeHead(302, {
        location: `${cdnOrigin}/cdn/${repoId}/${sha}`,
        'x-repo-commit': commit,
        'x-linked-etag': `"${sha}"`,
        'x-linked-size': String(content.length),
        etag: `"${gitBlobSha(Buffer.from(`pointer ${sha}`))}"`,
      });
      return void res.end();
    }
    sendContent(req, res, key, content, { 'x-repo-commit': commit, etag: `"${gitBlobSha(content)}"` });
  };

  const server: Server = createServer(handle);
  const cdnServer: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => cdnServer.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cdnOrigin = `http://127.0.0.1:${(cdnServer.address() as AddressInfo).port}`;
  return {
    url: origin,
    repos: repoMap,
    requests,
    faults,
    contentGets: (key) => contentGets.get(key) ?? 0,
    close: async () => {
      for (const each of [server, cdnServer]) {
        await new Promise<void>((resolve) => {
          each.closeAllConnections();
          each.close(() => resolve());
        });
      }
    },
  };
}

/** A port nothing listens on: one the system just gave out and took back. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** config.json with its labels renamed, to tell two commits of one model apart by what the server answers. */
export function withRenamedLabels(configJson: Buffer, rename: (label: string) => string): Buffer {
  const config = JSON.parse(configJson.toString('utf8')) as {
    id2label: Record<string, string>;
    label2id?: Record<string, number>;
  };
  config.id2label = Object.fromEntries(Object.entries(config.id2label).map(([id, label]) => [id, rename(label)]));
  config.label2id = Object.fromEntries(Object.entries(config.id2label).map(([id, label]) => [label, Number(id)]));
  return Buffer.from(JSON.stringify(config, null, 2));
}

const without = (files: Map<string, Buffer>, drop: (path: string) => boolean): Map<string, Buffer> =>
  new Map([...files].filter(([path]) => !drop(path)));

/** The repositories the Hub tests use, all made of the default model's files. */
export function standInRepos(): {
  repos: Record<string, StandInRepo>;
  v1: string;
  main: string;
  files: Map<string, Buffer>;
} {
  const files = readTree(defaultModelDir);
  const configJson = files.get('config.json');
  if (configJson === undefined) throw new Error(`${defaultModelDir} has no config.json`);
  const v1 = commitSha('v1');
  const main = commitSha('main');
  const single = (seed: string, content: Map<string, Buffer>, gated = false): StandInRepo => ({
    commits: { [commitSha(seed)]: content },
    refs: { main: commitSha(seed) },
    gated,
  });
  return {
    v1,
    main,
    files,
    repos: {
      'test-org/sentiment': {
        commits: {
          [v1]: files,
          [main]: new Map([...files, ['config.json', withRenamedLabels(configJson, (l) => l.toLowerCase())]]),
        },
        refs: { main, v1 },
      },
      'test-org/gated-sentiment': single('gated', files, true),
      'test-org/no-onnx': single(
        'no-onnx',
        without(files, (p) => p.startsWith('onnx/')),
      ),
      'test-org/float-only': single(
        'float-only',
        without(files, (p) => p === 'onnx/model_quantized.onnx'),
      ),
      'test-org/no-tokenizer': single(
        'no-tokenizer',
        without(files, (p) => p === 'tokenizer.json'),
      ),
      'test-org/minimal': single(
        'minimal',
        without(files, (p) => p === 'special_tokens_map.json'),
      ),
      'old-org/sentiment': { commits: {}, refs: {}, renamedTo: 'test-org/sentiment' },
    },
  };
}
