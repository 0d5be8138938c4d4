/**
 * The job contexts this worker read last, by blob key. A context over the inline limit is stored
 * once (activities/index.ts `shareText`) and read by every call of its job: from disk that was
 * ~0.4 ms of CPU per call for 200,000 characters, from S3 a round trip per call. Its key is a digest
 * of its content, so a cached text never goes stale. A read in flight is shared as well: the first
 * wave of a fan-out reads the blob once, not once per lane.
 */

/** Characters kept at most (~16–32 MiB of strings): the contexts of the few jobs a worker runs at once. */
export const SHARED_CONTEXT_CACHE_CHARS = 16 * 2 ** 20;

export class SharedContextCache {
  /** In least-recently-used order: a Map iterates in insertion order, and a hit is re-inserted. */
  private readonly entries = new Map<string, { text: Promise<string | null>; chars: number }>();
  private chars = 0;

  constructor(private readonly maxChars = SHARED_CONTEXT_CACHE_CHARS) {}

  /**
   * The text under `key` (`chars` long), from `load` on a miss. A failed or empty read (null: not in
   * this worker's blob store) is not kept, so the next call asks the store again.
   */
  get(key: string, chars: number, load: () => Promise<string | null>): Promise<string | null> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.text;
    }
    if (chars > this.maxChars) return load();
    // Counted once read: a miss or a failure never pushes another context out.
    const entry = { text: Promise.resolve<string | null>(null), chars: 0 };
    entry.text = load().then(
      (t) => {
        // Only this read's own entry: an evicted one may have been replaced by a newer read meanwhile.
        if (this.entries.get(key) !== entry) return t;
        if (t === null) this.drop(key);
        else this.keep(key, entry, chars);
        return t;
      },
      (err: unknown) => {
        if (this.entries.get(key) === entry) this.drop(key);
        throw err;
      },
    );
    this.entries.set(key, entry);
    return entry.text;
  }

  private keep(key: string, entry: { chars: number }, chars: number): void {
    entry.chars = chars;
    this.chars += chars;
    for (const [oldest] of this.entries) {
      if (this.chars <= this.maxChars) break;
      if (oldest !== key) this.drop(oldest);
    }
  }

  /** Texts held now (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.chars -= entry.chars;
  }
}
