import { QueueFullError } from '../errors/rejections.js';

/**
 * The door in front of tokenization: a request's texts are counted against the queue's capacity before any work is
 * done on them, so refusing one costs the parsing of its JSON and nothing more (TEI admits through a semaphore
 * for the same reason). Texts being tokenized count as waiting; once tokenized they move into the batcher's queue,
 * which `queued()` reports, so the sum of the two never exceeds the capacity.
 */
interface Waiter {
  resolve(): void;
  timer: NodeJS.Timeout;
}

export class Admission {
  private tokenizing = 0;
  private readonly waiters: Waiter[] = [];

  /**
   * @param wakeRoom texts of room needed before a waiting request is let in: the most a request may hold
   * (MAX_TEXTS_PER_REQUEST), so that it fits whatever its size and is not refused after its body was read.
   */
  constructor(
    private readonly capacity: number,
    private readonly queued: () => number,
    private readonly wakeRoom = 1,
  ) {}

  /** Texts admitted and not yet queued. */
  get inTokenization(): number {
    return this.tokenizing;
  }

  /** Requests waiting for room (waitForRoom). */
  get waiting(): number {
    return this.waiters.length;
  }

  private get full(): boolean {
    return this.tokenizing + this.queued() >= this.capacity;
  }

  /**
   * Called as soon as a request's headers arrive, before its body is read: resolves at once when there is room for
   * a text, else when room frees up, else rejects with QueueFullError after `maxWaitMs` (0: at once), or at once
   * when `maxWaiters` requests are waiting already. A refusal then costs neither reading nor parsing the body, and
   * clients that retry the moment they are refused (closed-loop load generators, naive retry loops) are held
   * instead of turning refusals into the server's main work. Returns undefined when there is room now.
   */
  waitForRoom(maxWaitMs: number, maxWaiters: number): Promise<void> | undefined {
    if (!this.full && this.waiters.length === 0) return undefined;
    const waitingTexts = this.tokenizing + this.queued();
    if (maxWaitMs === 0 || this.waiters.length >= maxWaiters) {
      return Promise.reject(new QueueFullError(waitingTexts, undefined, this.capacity));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(new QueueFullError(this.tokenizing + this.queued(), undefined, this.capacity));
        }, maxWaitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * The queue may have room again: lets the longest-waiting request in once a request of any size fits. One at a
   * time, since its size is known only once its body is parsed; every batch taken from the queue and every request
   * queued calls this again.
   */
  roomChanged(): void {
    if (this.capacity - this.tokenizing - this.queued() < Math.min(this.wakeRoom, this.capacity)) return;
    const waiter = this.waiters.shift();
    if (waiter === undefined) return;
    clearTimeout(waiter.timer);
    waiter.resolve();
  }

  /** Reserves room for `count` texts or throws QueueFullError; call the returned function once they are queued. */
  admit(count: number): () => void {
    const waiting = this.tokenizing + this.queued();
    if (waiting + count > this.capacity) throw new QueueFullError(waiting, count, this.capacity);
    this.tokenizing += count;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.tokenizing -= count;
      this.roomChanged();
    };
  }
}
