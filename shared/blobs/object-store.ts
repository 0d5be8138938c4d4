/**
 * Where renga keeps bytes that must not ride in the workflow history: job context, sharded outputs
 * and claim-checked payloads. Two backends implement it — a local directory (the default) and
 * S3-compatible object storage (RENGA_BLOB_URL) — and every layer above (content addressing,
 * encryption) is written once against this interface, not per backend.
 */

/** One stored object, as `renga gc` sees it. */
export interface StoredObject {
  key: string;
  modified: Date;
  bytes: number;
}

export interface ObjectStore {
  /** Where the objects live, for messages: a directory or an s3:// URL. */
  readonly location: string;
  /** Writes (or rewrites) an object; the same key always carries the same content, so this is idempotent. */
  put(key: string, body: Uint8Array): Promise<void>;
  /** The object's bytes, or null when there is none under that key. */
  get(key: string): Promise<Buffer | null>;
  list(): AsyncIterable<StoredObject>;
  delete(keys: string[]): Promise<void>;
}

/** The store itself failed (unreachable, access denied, no such bucket): not a missing object. */
export class ObjectStoreError extends Error {
  override readonly name: string = 'ObjectStoreError';
}

/** Keys are lowercase hex digests; anything else is refused before it reaches a path or a URL. */
export function checkKey(key: string): string {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new ObjectStoreError(`not a blob key: ${key.slice(0, 80)}`);
  return key;
}

/** A key the history names is not in the store: removed by `renga gc`, or a different store is configured. */
export class ObjectMissingError extends ObjectStoreError {
  override readonly name: string = 'ObjectMissingError';
}
