/** An input object as listed: the plan depends on nothing else. */
export interface StoredObject {
  key: string;
  size: number;
  /** Every ranged read asks for this version: an object replaced during the job fails, never mixes. */
  etag: string;
}

/** One of COUNT shares of the input: `--shard INDEX/COUNT`, or an Indexed Job's JOB_COMPLETION_INDEX. */
export interface Shard {
  index: number;
  count: number;
}

/** Most shards: an Indexed Job's completions are limited far below this; it keeps part names fixed-width. */
export const maxShards = 99_999;

export function parseShard(value: string): Shard | undefined {
  const match = /^(\d{1,5})\/(\d{1,5})$/.exec(value);
  if (match === null) return undefined;
  const index = Number(match[1]);
  const count = Number(match[2]);
  return count >= 1 && count <= maxShards && index < count ? { index, count } : undefined;
}

/** `part-00003-of-00016`: the shard's output and manifest are named after it, so they sort and never collide. */
export function partName(shard: Shard): string {
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `part-${pad(shard.index)}-of-${pad(shard.count)}`;
}

/**
 * A shard's share of one object: the records that START in bytes [start, end). The reader finds the first
 * record start at or after `start` and reads on past `end` to finish the last record it owns, so neighbouring
 * shards, cutting at the same offset, meet at the same record boundary: every record is read by exactly one.
 */
export interface Piece {
  object: StoredObject;
  start: number;
  end: number;
}

/**
 * The shard's pieces. At least as many objects as shards: whole objects, each to the least loaded shard (by
 * bytes, largest first), so no object is read twice. Fewer: the objects laid end to end and cut into COUNT equal
 * byte ranges. Both depend only on the listing and COUNT, so every pod plans the same split.
 */
export function planShard(objects: readonly StoredObject[], shard: Shard): Piece[] {
  return objects.length >= shard.count ? byObject(objects, shard) : byByteRange(objects, shard);
}

function byObject(objects: readonly StoredObject[], shard: Shard): Piece[] {
  const load = new Array<number>(shard.count).fill(0);
  const mine = new Set<StoredObject>();
  const largestFirst = [...objects].sort((a, b) => b.size - a.size || (a.key < b.key ? -1 : 1));
  for (const object of largestFirst) {
    let least = 0;
    for (let i = 1; i < load.length; i++) if ((load[i] as number) < (load[least] as number)) least = i;
    load[least] = (load[least] as number) + object.size;
    if (least === shard.index) mine.add(object);
  }
  return objects.filter((object) => mine.has(object)).map((object) => ({ object, start: 0, end: object.size }));
}

function byByteRange(objects: readonly StoredObject[], shard: Shard): Piece[] {
  const total = objects.reduce((sum, object) => sum + object.size, 0);
  // In BigInt: bytes × index can pass 2^53 for inputs of terabytes.
  const cut = (i: number): number => Number((BigInt(total) * BigInt(i)) / BigInt(shard.count));
  const from = cut(shard.index);
  const to = cut(shard.index + 1);
  const pieces: Piece[] = [];
  let offset = 0;
  for (const object of objects) {
    const start = Math.max(from, offset) - offset;
    const end = Math.min(to, offset + object.size) - offset;
    if (start < end) pieces.push({ object, start, end });
    offset += object.size;
  }
  return pieces;
}
