import { QueueFullError } from '../rejections.js';

/**
 * The door in front of tokenization: a request's texts are counted against the queue's capacity before any work is
 * done on them, so refusing one costs the parsing of its JSON and nothing more (TEI admits through a semaphore
 * for the same reason). Texts being tokenized count as waiting; once tokenized they move into the batcher's queue,
 * which `queued()` reports, so the sum of the two never exceeds the capacity.
 */
export class Admission {
  private tokenizing = 0;

  constructor(
    private readonly capacity: number,
    private readonly queued: () => number,
  ) {}

  /** Texts admitted and not yet queued. */
  get inTokenization(): number {
    return this.tokenizing;
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
    };
  }
}
