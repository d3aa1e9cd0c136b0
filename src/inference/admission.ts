import { ClientQueueFullError, QueueFullError } from '../errors/rejections.js';

/**
 * Who sent a request (client-key.ts); undefined: one anonymous client (a batch job, an embedding), which has the
 * whole queue, as there is nobody to keep room for.
 */
export type ClientKey = string | undefined;

export interface AdmissionLimits {
  /** Most texts waiting in all (MAX_QUEUE). */
  capacity: number;
  /** Most texts one client may have waiting (MAX_QUEUE_PER_CLIENT resolved); at most `capacity`. */
  perClient: number;
  /**
   * Texts of room needed before a waiting request is let in: the most a request may hold (MAX_TEXTS_PER_REQUEST),
   * so that it fits whatever its size and is not refused after its body was read.
   */
  wakeRoom: number;
}

/** What the queue behind the door holds: texts waiting in all, and per client. */
export interface QueueCounts {
  queued(): number;
  queuedOf(client: ClientKey): number;
  /** The clients with texts waiting. */
  queuedClients(): Iterable<ClientKey>;
}

/**
 * The label values of sentiment_clients_waiting: a client is heavy while it holds at least half its share of the
 * queue (a flood, or a backlog building up), light otherwise. Two classes, whatever the number of clients.
 */
export const clientClasses = ['light', 'heavy'] as const;
export type ClientClass = (typeof clientClasses)[number];

/**
 * MAX_QUEUE_PER_CLIENT as given (at most the queue), or for `auto` the queue less a quarter of it (at least one
 * request's worth) kept for other clients; a queue too small to share stays whole.
 */
export function resolvePerClientQueue(setting: number | 'auto', maxQueue: number, maxTextsPerRequest: number): number {
  if (setting !== 'auto') return Math.min(setting, maxQueue);
  const keptForOthers = Math.max(maxTextsPerRequest, Math.floor(maxQueue / 4));
  return Math.max(maxTextsPerRequest, maxQueue - keptForOthers);
}

interface Waiter {
  client: ClientKey;
  resolve(): void;
  timer: NodeJS.Timeout;
}

/**
 * The door in front of tokenization: a request's texts are counted against the queue's capacity, and against its
 * client's share of it, before any work is done on them, so refusing one costs the parsing of its JSON and nothing
 * more (TEI admits through a semaphore for the same reason). Texts being tokenized count as waiting; once tokenized
 * they move into the batcher's queue, which `counts` reports, so the sum of the two never exceeds the limits. The
 * per-client limit keeps room for others: a client flooding the service is refused (client_queue_full) while
 * another client's request is still let in.
 */
export class Admission {
  private tokenizing = 0;
  private readonly tokenizingBy = new Map<ClientKey, number>();
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly counts: QueueCounts,
  ) {}

  /** Texts admitted and not yet queued. */
  get inTokenization(): number {
    return this.tokenizing;
  }

  /** Requests waiting for room (waitForRoom). */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Texts of `client` admitted and not yet answered or dropped. */
  holdingOf(client: ClientKey): number {
    return (this.tokenizingBy.get(client) ?? 0) + this.counts.queuedOf(client);
  }

  /** Clients with texts admitted and not yet answered, by class. */
  clientsByClass(): Record<ClientClass, number> {
    const counts: Record<ClientClass, number> = { light: 0, heavy: 0 };
    const clients = new Set([...this.tokenizingBy.keys(), ...this.counts.queuedClients()]);
    for (const client of clients) counts[this.holdingOf(client) * 2 >= this.limitOf(client) ? 'heavy' : 'light'] += 1;
    return counts;
  }

  private holding(): number {
    return this.tokenizing + this.counts.queued();
  }

  /** Most texts `client` may hold. */
  private limitOf(client: ClientKey): number {
    return client === undefined ? this.limits.capacity : this.limits.perClient;
  }

  /** Whether `texts` more texts of `client` fit, in all and in its share. */
  private fits(client: ClientKey, texts: number): boolean {
    return this.holding() + texts <= this.limits.capacity && this.holdingOf(client) + texts <= this.limitOf(client);
  }

  /** The refusal for a request of `requested` texts (undefined: before its body is read) that does not fit. */
  private refusal(client: ClientKey, requested: number | undefined): QueueFullError | ClientQueueFullError {
    const texts = requested ?? 1;
    if (this.holding() + texts > this.limits.capacity) {
      return new QueueFullError(this.holding(), requested, this.limits.capacity);
    }
    return new ClientQueueFullError(this.holdingOf(client), requested, this.limitOf(client));
  }

  /**
   * Called as soon as a request's headers arrive, before its body is read: resolves at once when there is room for
   * a text of its client, else when room frees up, else rejects with QueueFullError (or ClientQueueFullError) after
   * `maxWaitMs` (0: at once), or at once when `maxWaiters` requests are waiting already. A refusal then costs
   * neither reading nor parsing the body, and clients that retry the moment they are refused (closed-loop load
   * generators, naive retry loops) are held instead of turning refusals into the server's main work. A client
   * within its share is not held behind another client's waiting requests. Returns undefined when there is room now.
   */
  waitForRoom(maxWaitMs: number, maxWaiters: number, client?: ClientKey): Promise<void> | undefined {
    if (this.fits(client, 1) && !this.waiters.some((waiter) => waiter.client === client)) return undefined;
    if (maxWaitMs === 0 || this.waiters.length >= maxWaiters) return Promise.reject(this.refusal(client, undefined));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        client,
        resolve,
        timer: setTimeout(() => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(this.refusal(client, undefined));
        }, maxWaitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * The queue may have room again: lets the longest-waiting request in whose client has room for a request of any
   * size. One at a time, since its size is known only once its body is parsed; every batch taken from the queue
   * and every request queued calls this again.
   */
  roomChanged(): void {
    const room = (limit: number): number => Math.min(this.limits.wakeRoom, limit);
    if (this.limits.capacity - this.holding() < room(this.limits.capacity)) return;
    const index = this.waiters.findIndex((waiter) => {
      const limit = this.limitOf(waiter.client);
      return limit - this.holdingOf(waiter.client) >= room(limit);
    });
    if (index < 0) return;
    const [waiter] = this.waiters.splice(index, 1) as [Waiter];
    clearTimeout(waiter.timer);
    waiter.resolve();
  }

  /** Reserves room for `count` texts of `client` or throws; call the returned function once they are queued. */
  admit(count: number, client?: ClientKey): () => void {
    if (!this.fits(client, count)) throw this.refusal(client, count);
    this.tokenizing += count;
    this.tokenizingBy.set(client, (this.tokenizingBy.get(client) ?? 0) + count);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.tokenizing -= count;
      const left = (this.tokenizingBy.get(client) ?? 0) - count;
      if (left > 0) this.tokenizingBy.set(client, left);
      else this.tokenizingBy.delete(client);
      this.roomChanged();
    };
  }
}
