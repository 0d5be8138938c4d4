/** ObjectStore backend: a local directory, objects under `<dir>/<first two hex digits>/<key>`. */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkKey, type ObjectStore, type StoredObject } from './object-store';

export class LocalObjectStore implements ObjectStore {
  constructor(readonly dir: string) {}

  get location(): string {
    return path.resolve(this.dir);
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const file = this.file(key);
    await mkdir(path.dirname(file), { recursive: true });
    // Write-then-rename so a crash mid-write never leaves a truncated object under the final name;
    // the rename also refreshes the modification time `renga gc` goes by.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, file);
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
