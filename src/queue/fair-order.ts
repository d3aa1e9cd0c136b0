/**
 * The order in which clients' texts are served: self-clocked fair queueing (Golestani's SCFQ, the cheap form of
 * weighted fair queueing). Each text gets a finish tag, its client's previous tag (or the virtual time, whichever is
 * later) plus its cost in tokens; texts are served lowest tag first, and the virtual time is the tag of the text
 * last put in service. So a client alone is served in arrival order and gets the whole engine, while under
 * contention each client with texts waiting gets an equal share of the tokens computed: a client that queued a
 * thousand texts has tags far ahead, and a newcomer's text is tagged near the virtual time, ahead of them.
 */
export class FairOrder<K> {
  private virtualTime = 0;
  /** The last tag given to each client whose tags may still be ahead of the virtual time. */
  private readonly lastTag = new Map<K, number>();

  /** The finish tag of a new text of `client` costing `cost` (tokens; at least 1, so tags always advance). */
  tag(client: K, cost: number): number {
    const start = Math.max(this.virtualTime, this.lastTag.get(client) ?? 0);
    const finish = start + Math.max(1, cost);
    this.lastTag.set(client, finish);
    return finish;
  }

  /** A batch whose lowest tag is `tag` goes to the engine: the virtual time moves up to it. */
  served(tag: number): void {
    if (tag <= this.virtualTime) return;
    this.virtualTime = tag;
    // A client whose last tag is behind the virtual time starts from it anyway: forgetting it bounds the map.
    for (const [client, last] of this.lastTag) if (last <= tag) this.lastTag.delete(client);
  }

  /** Clients whose texts are tagged ahead of the virtual time: those recently or still waiting. */
  get activeClients(): number {
    return this.lastTag.size;
  }
}
