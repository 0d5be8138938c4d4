/**
 * The encryption layer over any ObjectStore: with payload encryption on (RENGA_ENCRYPTION_KEYS),
 * blobs are sealed with the same keys and AES-256-GCM framing as payloads before they leave the
 * worker, so neither a local disk nor an S3 bucket ever holds job text in the clear.
 */
import { deserializePayload, type EncryptionCodec, serializePayload } from '../codec';
import type { ObjectStore, StoredObject } from './object-store';

/** Marks a sealed object; anything without it was written while encryption was off. */
const MAGIC = Buffer.from('renga-sealed-v1\n', 'utf8');

export class SealedObjectStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly encryption: EncryptionCodec,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    if (!this.encryption.enabled) return this.inner.put(key, body);
    const [sealed] = await this.encryption.encode([{ metadata: {}, data: body }]);
    await this.inner.put(key, Buffer.concat([MAGIC, serializePayload(sealed!)]));
  }

  async get(key: string): Promise<Buffer | null> {
    const raw = await this.inner.get(key);
    if (raw === null || !raw.subarray(0, MAGIC.length).equals(MAGIC)) return raw;
    // Names a missing or wrong key the same way payload decryption does.
    const [open] = await this.encryption.decode([deserializePayload(raw.subarray(MAGIC.length))]);
    return Buffer.from(open?.data ?? new Uint8Array());
  }

  list(): AsyncIterable<StoredObject> {
    return this.inner.list();
  }

  delete(keys: string[]): Promise<void> {
    return this.inner.delete(keys);
  }
}
