/** ObjectStore backend: a local directory, objects under `<dir>/<first two hex digits>/<key>`. */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkKey, type ObjectStore, type StoredObject } from './object-store';

export class LocalObjectStore implements ObjectStore {
  /** Directories this process made or found: a sharded job stores one object per subtask, and a
   * recursive mkdir per object was 7 % of a worker's CPU at zero latency (BENCHMARKS.md, section 3). */
  private readonly madeDirs = new Map<string, Promise<void>>();

  constructor(readonly dir: string) {}

  get location(): string {
    return path.resolve(this.dir);
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const file = this.file(key);
    const dir = path.dirname(file);
    await (this.madeDirs.get(dir) ?? this.makeDir(dir));
    // Write-then-rename so a crash mid-write never leaves a truncated object under the final name;
    // the rename also refreshes the modification time `renga gc` goes by.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, body);
    } catch (err) {
      // Someone removed the directory since (a cleanup, another process): make it again, once.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await this.makeDir(dir);
      await writeFile(tmp, body);
    }
    await rename(tmp, file);
  }

  /** Concurrent puts into a new directory share one mkdir: the promise is remembered, not the outcome. */
  private makeDir(dir: string): Promise<void> {
    const made = mkdir(dir, { recursive: true }).then(() => undefined);
    this.madeDirs.set(dir, made);
    // A failed mkdir is not remembered: the next put tries again.
    made.catch(() => this.madeDirs.delete(dir));
    return made;
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.file(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async *list(): AsyncIterable<StoredObject> {
    let shards: string[];
    try {
      shards = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const shard of shards.filter((s) => /^[0-9a-f]{2}$/.test(s)).sort()) {
      for (const key of (await readdir(path.join(this.dir, shard))).filter((k) => /^[0-9a-f]{64}$/.test(k)).sort()) {
        const st = await stat(path.join(this.dir, shard, key)).catch(() => null);
        if (st) yield { key, modified: st.mtime, bytes: st.size };
      }
    }
  }

  async delete(keys: string[]): Promise<void> {
    await Promise.all(keys.map((k) => rm(this.file(k), { force: true })));
  }

  private file(key: string): string {
    return path.resolve(this.dir, checkKey(key).slice(0, 2), key);
  }
}
