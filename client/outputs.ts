/**
 * `renga result <id> --outputs`: the full outputs a sharded job kept in the blob store (its result
 * document carries previews and `outputRef`s, and each shard's results under `resultsRef`).
 */
import { BlobStore } from '../shared/blobs/blob-store';
import { ObjectMissingError } from '../shared/blobs/object-store';
import { openObjectStore } from '../shared/blobs/open';
import { EncryptionCodec, loadKeys } from '../shared/codec';
import type { ClientConfig } from '../shared/config';
import { SubtaskResultSchema, type ResultDocument, type SubtaskResult } from '../shared/schemas';

/** The blob store a client reads: the same backend and keys the workers write with. */
export function openBlobStore(config: ClientConfig): BlobStore {
  const keys = loadKeys({ keys: config.RENGA_ENCRYPTION_KEYS, keysFile: config.RENGA_ENCRYPTION_KEYS_FILE });
  return new BlobStore(openObjectStore(config, 'blobs'), new EncryptionCodec(keys));
}

async function load(blobs: BlobStore, key: string, what: string): Promise<string> {
  const text = await blobs.get(key);
  if (text === null)
    throw new ObjectMissingError(
      `${what} (${key}) is not in ${blobs.location}: removed by renga gc, or this is not the store the workers used (RENGA_BLOB_URL / RENGA_BLOB_DIR)`,
    );
  return text;
}

/** The document with `subtasks` listing every subtask, each with its whole output. */
export async function withFullOutputs(doc: ResultDocument, blobs: BlobStore): Promise<ResultDocument> {
  let subtasks: SubtaskResult[] = doc.subtasks;
  if (doc.shards) {
    // A sharded document lists only the subtasks that did not complete; the shards hold all of them.
    subtasks = [];
    for (const shard of doc.shards) {
      if (!shard.resultsRef) continue;
      const rows: unknown = JSON.parse(await load(blobs, shard.resultsRef, `results of shard ${shard.index}`));
      for (const row of Array.isArray(rows) ? rows : []) subtasks.push(SubtaskResultSchema.parse(row));
    }
  }
  // A few dozen reads at a time: 10,000 at once would exhaust sockets (S3) or file handles.
  const full: SubtaskResult[] = [];
  for (let i = 0; i < subtasks.length; i += 32) {
    full.push(
      ...(await Promise.all(
        subtasks
          .slice(i, i + 32)
          .map(async (s) =>
            s.outputRef ? { ...s, output: await load(blobs, s.outputRef, `output of subtask ${s.id}`) } : s,
          ),
      )),
    );
  }
  return { ...doc, subtasks: full };
}

/** Plain-text form: one block per subtask. */
export function formatOutputs(doc: ResultDocument): string {
  return doc.subtasks
    .map((s) => `## ${s.id} (${s.status})\n${s.output ?? s.error ?? ''}`)
    .join('\n\n')
    .concat('\n');
}
