/**
 * Content-addressed text for large job context and sharded outputs: the workflow history carries a
 * key, not a copy per subtask. The key is the content's SHA-256 — or, with encryption on, an HMAC
 * under the active key, so a key reveals nothing about the text. Puts are idempotent: a retried
 * activity rewrites the same object under the same key.
 */
import { createHash } from 'node:crypto';
import type { EncryptionCodec } from '../codec';
import { LocalObjectStore } from './local-store';
import type { ObjectStore } from './object-store';
import { SealedObjectStore } from './sealed-store';

export class BlobStore {
  private readonly objects: ObjectStore;

  /** @param backend an ObjectStore, or a local directory's path. */
  constructor(
    backend: ObjectStore | string,
    private readonly encryption?: EncryptionCodec,
  ) {
    const store = typeof backend === 'string' ? new LocalObjectStore(backend) : backend;
    this.objects = encryption ? new SealedObjectStore(store, encryption) : store;
  }

  /** A directory or an s3:// URL, for messages. */
  get location(): string {
    return this.objects.location;
  }

  async put(content: string): Promise<string> {
    const bytes = Buffer.from(content, 'utf8');
    const key = this.encryption?.keyedDigest(bytes) ?? createHash('sha256').update(bytes).digest('hex');
    await this.objects.put(key, bytes);
    return key;
  }

  /** Returns null when the blob is not in this store (e.g. a worker without the shared volume or bucket). */
  async get(key: string): Promise<string | null> {
    const bytes = await this.objects.get(key);
    return bytes === null ? null : bytes.toString('utf8');
  }
}
