import { parse } from 'shell-quote';

/** One `curl` of a README shell block, as the request it sends and the answer printed under it. */
export interface CurlExample {
  /** The command as written (continuation lines joined), for assertion messages. */
  command: string;
  /** Settings the block starts the server with (`API_KEYS=… npm start` above the curl); empty for the defaults. */
  env: Record<string, string>;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** The status printed before the body (`# 401 {…}`); 200 when none is. */
  status: number;
  /** The answer's body as printed. */
  expected: string;
}

/** The fenced blocks of a Markdown document whose info string is `lang`, each as its lines. */
export function fencedBlocks(markdown: string, lang: string): string[][] {
  return [...markdown.matchAll(/^```(\S*)\n([^]*?)^```$/gm)]
    .filter(([, info]) => info === lang)
    .map(([, , body]) => (body as string).replace(/\n$/, '').split('\n'));
}

/** Shell lines with `\` continuations joined. */
function logicalLines(lines: readonly string[]): string[] {
  const joined: string[] = [];
  let pending = '';
  for (const line of lines) {
    if (line.endsWith('\\')) pending += `${line.slice(0, -1).trimEnd()} `;
    else {
      joined.push(pending + line.trimStart());
      pending = '';
    }
  }
  return joined;
}

/** `NAME=value … npm start`: the settings a block's server runs with. */
function startEnv(line: string): Record<string, string> | undefined {
  const words = parse(line).map(String);
  if (words.slice(-2).join(' ') !== 'npm start') return undefined;
  const assignments = words.slice(0, -2);
  if (!assignments.every((word) => /^[A-Z][A-Z0-9_]*=/.test(word))) return undefined;
  return Object.fromEntries(
    assignments.map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]),
  );
}

/** The request a curl command line sends: the options the README uses (-s, -X, -H, -d) and a localhost:5000 URL. */
function curlRequest(command: string): Pick<CurlExample, 'method' | 'path' | 'headers' | 'body'> {
  const words = parse(command).map(String);
  if (words[0] !== 'curl') throw new Error(`not a curl command: ${command}`);
  let method: string | undefined;
  let path: string | undefined;
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < words.length; i++) {
    const word = words[i] as string;
    if (word === '-s') continue;
    const value = (): string => {
      const next = words[++i];
      if (next === undefined) throw new Error(`${word} without a value in: ${command}`);
      return next;
    };
    if (word === '-X') method = value();
    else if (word === '-H') {
      const header = value();
      headers[header.slice(0, header.indexOf(':')).trim().toLowerCase()] = header.slice(header.indexOf(':') + 1).trim();
    } else if (word === '-d') body = value();
    else if (/^(http:\/\/)?localhost:5000\//.test(word)) path = word.slice(word.indexOf('/', word.indexOf(':5000')));
    else throw new Error(`curl option ${word} is not understood by the README check: ${command}`);
  }
  if (path === undefined) throw new Error(`no localhost:5000 URL in: ${command}`);
  return { method: method ?? (body === undefined ? 'GET' : 'POST'), path, headers, body };
}

/**
 * Every curl in the document's `sh` blocks, with the answer printed under it as a comment (`# [status ]body`). A
 * curl with no answer under it is an error: each example shows what it gets.
 */
export function curlExamples(markdown: string): CurlExample[] {
  const examples: CurlExample[] = [];
  for (const block of fencedBlocks(markdown, 'sh')) {
    const lines = logicalLines(block);
    const env = lines.map(startEnv).find((found) => found !== undefined) ?? {};
    lines.forEach((line, index) => {
      if (!line.startsWith('curl ')) return;
      const answer = /^# (?:(\d{3}) )?(.+)$/.exec(lines[index + 1] ?? '');
      if (answer === null) throw new Error(`no answer printed under: ${line}`);
      const [, status, expected] = answer;
      examples.push({
        command: line,
        env,
        ...curlRequest(line),
        status: status === undefined ? 200 : Number(status),
        expected: expected as string,
      });
    });
  }
  return examples;
}

/**
 * Whether an answer matches the one printed: the same JSON, keys in the same order, numbers within `tolerance`
 * (the last digits of a float may differ between CPUs); else the message says where they differ.
 */
export function jsonDifference(actual: unknown, expected: unknown, tolerance: number, at = '$'): string | undefined {
  if (typeof expected === 'number' && typeof actual === 'number')
    return Math.abs(actual - expected) <= tolerance ? undefined : `${at}: ${actual}, README shows ${expected}`;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (actual.length !== expected.length) return `${at}: ${actual.length} items, README shows ${expected.length}`;
    for (const [i, item] of expected.entries()) {
      const difference = jsonDifference(actual[i], item, tolerance, `${at}[${i}]`);
      if (difference !== undefined) return difference;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object' && actual !== null && typeof actual === 'object') {
    const [actualKeys, expectedKeys] = [Object.keys(actual), Object.keys(expected)];
    if (actualKeys.join() !== expectedKeys.join())
      return `${at}: keys ${actualKeys.join(', ')}, README shows ${expectedKeys.join(', ')}`;
    for (const key of expectedKeys) {
      const difference = jsonDifference(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        tolerance,
        `${at}.${key}`,
      );
      if (difference !== undefined) return difference;
    }
    return undefined;
  }
  return actual === expected ? undefined : `${at}: ${JSON.stringify(actual)}, README shows ${JSON.stringify(expected)}`;
}
