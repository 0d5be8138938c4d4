/**
 * Payload codecs shared by every process that talks to Temporal (CLI/API client, worker, codec
 * server), so prompts, plans, outputs and answers are ciphertext on the server:
 *
 * - {@link EncryptionCodec}: AES-256-GCM; the key id travels in the payload metadata so several
 *   keys can be live at once (rotation: encrypt with the first, decrypt with any). Keys come from
 *   the environment or a file, never from a payload or the history.
 * - {@link ClaimCheckCodec}: a payload still larger than a threshold after encryption is written to
 *   the object store (a directory or S3, content-addressed) and only a small reference enters the
 *   history, so a big context or output never meets Temporal's 2 MiB payload limit.
 *
 * Chain order is [encryption, claim check]: encode encrypts first, so offloaded blobs are ciphertext
 * too; decode fetches first, then decrypts. Node-only: used outside the workflow sandbox.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LocalObjectStore } from './blobs/local-store';
import { checkKey, type ObjectStore } from './blobs/object-store';
import { openObjectStore, type ObjectStoreSettings } from './blobs/open';
import { ConfigError } from './config';
import { FailureType } from './failures';
import { UNDECODABLE_KEY, type Undecodable } from './undecodable';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const CLAIM_CHECK_ENCODING = 'renga/claim-check';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Base class so callers can catch every codec problem at once. */
export class PayloadCodecError extends Error {
  override readonly name: string = 'PayloadCodecError';
}
/** The key configuration is malformed (bad id, not 32 bytes, unreadable file): a config error, exit 2. */
export class EncryptionKeyConfigError extends ConfigError {
  override readonly name = 'EncryptionKeyConfigError';
}
/** A payload names a key id this process does not hold (or it holds no keys at all). */
export class EncryptionKeyMissingError extends PayloadCodecError {
  override readonly name = 'EncryptionKeyMissingError';
}
/** The GCM tag did not verify: a different key under the same id, or tampered ciphertext. */
export class PayloadDecryptionError extends PayloadCodecError {
  override readonly name = 'PayloadDecryptionError';
}
/** A claim-check reference that is not a payload key (malformed, or crafted: a path): never readable. */
export class InvalidPayloadRefError extends PayloadCodecError {
  override readonly name = 'InvalidPayloadRefError';
}
/** A claim-checked payload is not in this process's payload store. */
export class PayloadUnavailableError extends PayloadCodecError {
  override readonly name = 'PayloadUnavailableError';
}

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses `id:base64key` entries separated by commas or newlines (`#` starts a comment). The first
 * key encrypts; all of them decrypt. `source` names the variable or file in error messages.
 */
export function parseKeys(text: string, source: string): EncryptionKey[] {
  const entries = text
    .split(/[,\n]/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
  const keys: EncryptionKey[] = [];
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!KEY_ID.test(id)) {
      throw new EncryptionKeyConfigError(
        `${source}: each key is "id:base64" with an id of letters, digits, '.', '_' or '-' (entry ${index + 1} has ${colon > 0 ? 'an invalid id' : 'no id'}; its characters are not shown, they may be key material)`,
      );
    }
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (key.length !== 32) {
      throw new EncryptionKeyConfigError(
        `${source}: key "${id}" is ${key.length} bytes after base64 decoding; AES-256 needs 32 (make one with: openssl rand -base64 32)`,
      );
    }
    if (keys.some((k) => k.id === id)) throw new EncryptionKeyConfigError(`${source}: key id "${id}" appears twice`);
    keys.push({ id, key });
  }
  return keys;
}

/** Keys from `RENGA_ENCRYPTION_KEYS` and/or `RENGA_ENCRYPTION_KEYS_FILE` (env keys first). */
export function loadKeys(opts: { keys?: string; keysFile?: string }): EncryptionKey[] {
  const keys = opts.keys ? parseKeys(opts.keys, 'RENGA_ENCRYPTION_KEYS') : [];
  if (opts.keysFile) {
    let text: string;
    try {
      text = readFileSync(opts.keysFile, 'utf8');
    } catch (err) {
      throw new EncryptionKeyConfigError(`RENGA_ENCRYPTION_KEYS_FILE=${opts.keysFile}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    for (const k of parseKeys(text, `RENGA_ENCRYPTION_KEYS_FILE ${opts.keysFile}`)) {
      if (keys.some((e) => e.id === k.id))
        throw new EncryptionKeyConfigError(
          `key id "${k.id}" is in both RENGA_ENCRYPTION_KEYS and RENGA_ENCRYPTION_KEYS_FILE`,
        );
      keys.push(k);
    }
  }
  return keys;
}

export function newKeyLine(id: string): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function meta(p: Payload, key: string): string | undefined {
  const v = p.metadata?.[key];
  return v ? fromUtf8.decode(v) : undefined;
}

/**
 * A whole payload (metadata + data) as bytes: [u32 BE length][metadata JSON, values base64][data].
 * Our own framing keeps @temporalio/proto out of the dependency list; metadata is small.
 */
export function serializePayload(p: Payload): Buffer {
  const m: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) if (v) m[k] = Buffer.from(v).toString('base64');
  const head = Buffer.from(JSON.stringify(m), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return Buffer.concat([len, head, Buffer.from(p.data ?? new Uint8Array())]);
}

export function deserializePayload(buf: Buffer): Payload {
  const len = buf.readUInt32BE(0);
  const m = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as Record<string, string>;
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(m)) metadata[k] = new Uint8Array(Buffer.from(v, 'base64'));
  return { metadata, data: new Uint8Array(buf.subarray(4 + len)) };
}

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  /** With no keys, encode passes through and decode refuses encrypted payloads with a clear error. */
  constructor(private readonly keys: EncryptionKey[]) {
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  get activeKeyId(): string | null {
    return this.keys[0]?.id ?? null;
  }

  /**
   * A content address that reveals nothing about the content: HMAC-SHA256 under the active key
   * (null when encryption is off, where a plain SHA-256 does). Same bytes, same key: idempotent puts.
   */
  keyedDigest(bytes: Uint8Array): string | null {
    const active = this.keys[0];
    if (!active) return null;
    return createHmac('sha256', active.key).update('renga-blob-key\n').update(bytes).digest('hex');
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const active = this.keys[0];
    if (!active) return payloads;
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', active.key, iv);
      // The key id is authenticated too: a payload cannot be relabelled to another key.
      cipher.setAAD(Buffer.from(active.id, 'utf8'));
      const body = Buffer.concat([cipher.update(serializePayload(p)), cipher.final()]);
      return {
        metadata: {
          encoding: utf8.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: utf8.encode(active.id),
          [CIPHER_METADATA]: utf8.encode(CIPHER),
        },
        data: new Uint8Array(Buffer.concat([iv, body, cipher.getAuthTag()])),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (meta(p, 'encoding') !== ENCRYPTED_ENCODING) return p;
      const id = meta(p, KEY_ID_METADATA) ?? '';
      const key = this.byId.get(id);
      if (!key) {
        throw new EncryptionKeyMissingError(
          this.enabled
            ? `payload is encrypted with key "${id}", which is not among the configured keys (${[...this.byId.keys()].join(', ')}); add it to RENGA_ENCRYPTION_KEYS or RENGA_ENCRYPTION_KEYS_FILE`
            : `payload is encrypted with key "${id}" but no encryption keys are configured; set RENGA_ENCRYPTION_KEYS or RENGA_ENCRYPTION_KEYS_FILE`,
        );
      }
      const data = Buffer.from(p.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(id, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      try {
        return deserializePayload(
          Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]),
        );
      } catch {
        throw new PayloadDecryptionError(
          `payload encrypted with key "${id}" failed authentication: the configured key "${id}" is not the one that encrypted it (or the data was altered)`,
        );
      }
    });
  }
}

export class ClaimCheckCodec implements PayloadCodec {
  /**
   * @param store where offloaded payloads live (RENGA_PAYLOAD_DIR, or RENGA_BLOB_URL's payloads/
   *   folder), or a local directory's path; every client, worker and codec server that must read
   *   them shares it.
   * @param thresholdBytes payloads larger than this leave the history.
   */
  constructor(
    store: ObjectStore | string,
    readonly thresholdBytes: number,
    opts: ClaimCheckOptions = {},
  ) {
    this.store = typeof store === 'string' ? new LocalObjectStore(store) : store;
    this.invalidRefs = opts.invalidRefs ?? 'throw';
  }

  private readonly invalidRefs: 'throw' | 'fail-run';

  readonly store: ObjectStore;

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (p) => {
        if ((p.data?.length ?? 0) <= this.thresholdBytes) return p;
        const bytes = serializePayload(p);
        const key = createHash('sha256').update(bytes).digest('hex');
        await this.store.put(key, bytes);
        return {
          metadata: { encoding: utf8.encode(CLAIM_CHECK_ENCODING) },
          data: utf8.encode(JSON.stringify({ sha256: key, bytes: bytes.length })),
        };
      }),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (p) => {
        if (meta(p, 'encoding') !== CLAIM_CHECK_ENCODING) return p;
        const ref = readPayloadRef(p);
        if (typeof ref === 'string') {
          if (this.invalidRefs === 'throw') throw new InvalidPayloadRefError(ref);
          return undecodablePayload({ type: FailureType.InvalidPayloadRef, message: ref });
        }
        let bytes: Buffer | null;
        try {
          bytes = await this.store.get(checkKey(ref.sha256));
        } catch (err) {
          if (err instanceof PayloadCodecError) throw err;
          throw new PayloadUnavailableError(
            `payload ${ref.sha256} (${ref.bytes} bytes) could not be read from ${this.store.location}: ${(err as Error).message}`,
            { cause: err },
          );
        }
        if (bytes === null) {
          throw new PayloadUnavailableError(
            `payload ${ref.sha256} (${ref.bytes} bytes) is not in the payload store ${this.store.location}; every client and worker must share RENGA_PAYLOAD_DIR (or RENGA_BLOB_URL)`,
          );
        }
        return deserializePayload(bytes);
      }),
    );
  }
}

export interface ClaimCheckOptions {
  /**
   * A reference that can never be read: `throw` (clients, the codec server: the caller sees the
   * error) or `fail-run` (the worker: decode it as a marker its workflow interceptor turns into an
   * `InvalidPayloadRef` failure of the run, since a throwing codec fails the workflow task forever).
   */
  invalidRefs?: 'throw' | 'fail-run';
}

/** The reference a claim-check payload holds, or what is wrong with it (quoting at most 80 characters of it). */
function readPayloadRef(p: Payload): { sha256: string; bytes: number } | string {
  const raw = fromUtf8.decode(p.data ?? new Uint8Array());
  let ref: unknown;
  try {
    ref = JSON.parse(raw);
  } catch {
    ref = undefined;
  }
  const sha256 = typeof ref === 'object' && ref !== null && 'sha256' in ref ? ref.sha256 : undefined;
  const bytes = typeof ref === 'object' && ref !== null && 'bytes' in ref ? ref.bytes : undefined;
  if (typeof sha256 === 'string' && /^[0-9a-f]{64}$/.test(sha256) && typeof bytes === 'number')
    return { sha256, bytes };
  return `not a payload reference: ${JSON.stringify(typeof sha256 === 'string' ? sha256 : raw).slice(0, 80)}`;
}

/** A JSON payload holding the undecodable marker (shared/undecodable.ts). */
function undecodablePayload(what: Undecodable): Payload {
  return {
    metadata: { encoding: utf8.encode('json/plain') },
    data: utf8.encode(JSON.stringify({ [UNDECODABLE_KEY]: what })),
  };
}

export interface CodecSettings extends ObjectStoreSettings {
  RENGA_ENCRYPTION_KEYS?: string;
  RENGA_ENCRYPTION_KEYS_FILE?: string;
  RENGA_PAYLOAD_OFFLOAD_BYTES: number;
}

export interface RengaCodecs {
  encryption: EncryptionCodec;
  claimCheck: ClaimCheckCodec;
  /** In the order Temporal's DataConverter wants them. */
  chain: PayloadCodec[];
}

export function createCodecs(settings: CodecSettings, opts: ClaimCheckOptions = {}): RengaCodecs {
  const encryption = new EncryptionCodec(
    loadKeys({ keys: settings.RENGA_ENCRYPTION_KEYS, keysFile: settings.RENGA_ENCRYPTION_KEYS_FILE }),
  );
  const claimCheck = new ClaimCheckCodec(
    openObjectStore(settings, 'payloads'),
    settings.RENGA_PAYLOAD_OFFLOAD_BYTES,
    opts,
  );
  return { encryption, claimCheck, chain: [encryption, claimCheck] };
}
