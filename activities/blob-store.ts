/**
 * Content-addressed files for large shared job context: the workflow history carries a hash, not
 * a copy per subtask. Writes are idempotent, so a retried activity rewrites the same file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Distinguishes temp files of concurrent puts in one process (two subtasks may answer identically). */
let tmpSeq = 0;

export class BlobStore {
  constructor(readonly dir: string) {}

  async put(content: string): Promise<string> {
    const key = createHash('sha256').update(content).digest('hex');
    const file = this.file(key);
    await mkdir(path.dirname(file), { recursive: true });
    // Write-then-rename so a crash mid-write never leaves a truncated blob under the final name.
    const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
    await writeFile(tmp, content, 'utf8');
    await rename(tmp, file);
    return key;
  }

  /** Returns null when the blob is not on this machine (e.g. a worker without the shared volume). */
  async get(key: string): Promise<string | null> {
    try {
      return await readFile(this.file(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private file(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`not a blob key: ${key}`);
    return path.resolve(this.dir, key.slice(0, 2), key);
  }
}
