/**
 * ObjectStore backend: S3 or any S3-compatible server. `RENGA_BLOB_URL=s3://bucket/prefix` names
 * the place; endpoint, region and credentials come from the AWS SDK's own chain (AWS_ENDPOINT_URL_S3
 * or AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance
 * roles …), so renga reads no credential itself.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { checkKey, ObjectStoreError, type ObjectStore, type StoredObject } from './object-store';
import type { S3Location } from './s3-url';

export interface S3StoreOptions {
  location: S3Location;
  /** A sub-folder per kind of object ('blobs', 'payloads'), so gc and lifecycle rules can tell them apart. */
  folder: string;
  /** Passed through to every PUT: 'AES256', 'aws:kms' or 'aws:kms:dsse'. */
  sse?: ServerSideEncryption;
  sseKmsKeyId?: string;
  /** One client per process is enough; tests and the CLI share it between folders. */
  client?: S3Client;
}

/** The client the standard AWS variables describe, made friendly to self-hosted S3-compatible servers. */
export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  // Empty means unset here, as everywhere in renga's configuration (compose passes empty values).
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined);
  return new S3Client({
    ...(region ? { region } : {}),
    // A custom endpoint is almost always a local or self-hosted server without per-bucket DNS names.
    forcePathStyle: endpoint !== undefined,
    // Many S3-compatible servers reject the SDK's newer default CRC checksums; send them only where S3 requires.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(private readonly opts: S3StoreOptions) {
    this.client = opts.client ?? createS3Client();
    this.bucket = opts.location.bucket;
    this.prefix = `${opts.location.prefix}${opts.folder}/`;
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.call('put', key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Body: body,
          ...(this.opts.sse ? { ServerSideEncryption: this.opts.sse } : {}),
          ...(this.opts.sseKmsKeyId ? { SSEKMSKeyId: this.opts.sseKmsKeyId } : {}),
        }),
      ),
    );
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      if (!res.Body) return Buffer.alloc(0);
      return Buffer.from(await res.Body.transformToByteArray());
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404))
        return null;
      throw this.failure('get', key, err);
    }
  }

  async *list(): AsyncIterable<StoredObject> {
    try {
      for await (const page of paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.bucket, Prefix: this.prefix },
      )) {
        for (const o of page.Contents ?? []) {
          const key = o.Key?.slice(this.prefix.length).split('/').pop() ?? '';
          if (/^[0-9a-f]{64}$/.test(key)) yield { key, modified: o.LastModified ?? new Date(0), bytes: o.Size ?? 0 };
        }
      }
    } catch (err) {
      throw this.failure('list', '', err);
    }
  }

  async delete(keys: string[]): Promise<void> {
    // DeleteObjects takes at most 1,000 keys per request.
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const res = await this.call('delete', '', () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((k) => ({ Key: this.objectKey(k) })), Quiet: true },
          }),
        ),
      );
      const failed = res.Errors?.[0];
      if (failed) throw new ObjectStoreError(`${this.location}: could not delete ${failed.Key}: ${failed.Message}`);
    }
  }

  private objectKey(key: string): string {
    return `${this.prefix}${checkKey(key).slice(0, 2)}/${key}`;
  }

  private async call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.failure(op, key, err);
    }
  }

  /** Names the bucket, the operation and S3's own error code (AccessDenied, NoSuchBucket …), never a credential. */
  private failure(op: string, key: string, err: unknown): ObjectStoreError {
    const code = err instanceof S3ServiceException ? `${err.name} (HTTP ${err.$metadata.httpStatusCode ?? '?'})` : '';
    const what = err instanceof Error ? err.message : String(err);
    return new ObjectStoreError(
      `object store ${this.location}: ${op}${key ? ` ${key.slice(0, 12)}…` : ''} failed: ${code ? `${code}: ` : ''}${what}`,
      { cause: err },
    );
  }
}
