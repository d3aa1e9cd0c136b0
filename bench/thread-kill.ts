import { performance } from 'node:perf_hooks';

/**
 * Ends one worker thread of a server process from outside it, as a bug would, through the process's inspector
 * (node --inspect): the service has no switch for this, and a test-only one would not be the real failure. The
 * inspector's NodeWorker domain reaches each worker thread; the chosen one gets an uncaught error thrown on its event
 * loop, which ends that thread only (its 'error' and 'exit' events reach the pool), between two of its tasks.
 * Terminating a thread instead (process.exit or Worker.terminate) while onnxruntime-node computes in it aborts the
 * whole process (a fatal error in its native binding), so that is left to the process's own supervisor.
 */
const uncaughtError = "setImmediate(() => { throw new Error('killed by the hostile-traffic suite'); })";

interface InspectorTarget {
  webSocketDebuggerUrl: string;
}

interface WorkerAttached {
  sessionId: string;
  workerInfo: { url: string; title: string };
}

interface InspectorMessage {
  id?: number;
  method?: string;
  params?: unknown;
  error?: { message: string };
}

/**
 * Kills the first worker thread of the process listening for the inspector on 127.0.0.1:`inspectorPort` whose script
 * URL ends with `scriptSuffix` (e.g. 'engine-thread.js'). Resolves once the thread has exited.
 */
export async function killWorkerThread(inspectorPort: number, scriptSuffix: string, timeoutMs = 5000): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as InspectorTarget[];
  const target = targets[0];
  if (target === undefined) throw new Error(`no inspector target on port ${inspectorPort}`);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('cannot connect to the inspector')), { once: true });
  });
  try {
    let nextId = 1;
    const send = (method: string, params: unknown): number => {
      const id = nextId++;
      socket.send(JSON.stringify({ id, method, params }));
      return id;
    };
    const messages: InspectorMessage[] = [];
    let arrived: () => void = () => undefined;
    socket.addEventListener('message', (event: MessageEvent) => {
      const message = JSON.parse(String(event.data)) as InspectorMessage;
      messages.push(message);
      arrived();
    });
    /** The first message (past or future) that `matches`, or an error after the timeout. */
    const awaitMessage = async (matches: (message: InspectorMessage) => boolean, what: string) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = messages.find(matches);
        if (found !== undefined) return found;
        const failed = messages.find((message) => message.error !== undefined);
        if (failed?.error !== undefined) throw new Error(`inspector: ${failed.error.message}`);
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`inspector: ${what} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          arrived = resolve;
          setTimeout(resolve, left);
        });
      }
    };
    send('NodeWorker.enable', { waitForDebuggerOnStart: false });
    const attached = await awaitMessage(
      (message) =>
        message.method === 'NodeWorker.attachedToWorker' &&
        (message.params as WorkerAttached).workerInfo.url.endsWith(scriptSuffix),
      `no worker thread running ${scriptSuffix}`,
    );
    const { sessionId } = attached.params as WorkerAttached;
    const evaluate = { id: 1, method: 'Runtime.evaluate', params: { expression: uncaughtError } };
    send('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify(evaluate) });
    await awaitMessage(
      (message) =>
        message.method === 'NodeWorker.detachedFromWorker' &&
        (message.params as { sessionId: string }).sessionId === sessionId,
      'the worker thread did not exit',
    );
  } finally {
    socket.close();
  }
}
