/**
 * Picks the backend from the configuration: RENGA_BLOB_URL (s3://…) when set, else the local
 * directories. Both kinds of objects — content blobs and claim-checked payloads — share the choice.
 */
import type { S3Client, ServerSideEncryption } from '@aws-sdk/client-s3';
import { LocalObjectStore } from './local-store';
import type { ObjectStore } from './object-store';
import type * as S3StoreModule from './s3-store';
import { parseS3Url } from './s3-url';

export interface ObjectStoreSettings {
  RENGA_BLOB_DIR: string;
  RENGA_PAYLOAD_DIR: string;
  RENGA_BLOB_URL?: string;
  RENGA_BLOB_SSE?: ServerSideEncryption;
  RENGA_BLOB_SSE_KMS_KEY_ID?: string;
}

export type ObjectFolder = 'blobs' | 'payloads';

/** One S3 client per process: it pools connections and resolves credentials once. */
let s3Client: S3Client | undefined;

export function openObjectStore(settings: ObjectStoreSettings, folder: ObjectFolder): ObjectStore {
  if (settings.RENGA_BLOB_URL) {
    const location = parseS3Url(settings.RENGA_BLOB_URL);
    // The config schema already checked the form; this guards callers that build settings by hand.
    if (!location) throw new Error(`RENGA_BLOB_URL: not an s3://bucket/prefix URL: ${settings.RENGA_BLOB_URL}`);
    // Required only for an S3 store: the AWS SDK is ~10 MiB of memory a worker on local disk would carry.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
    const { createS3Client, S3ObjectStore } = require('./s3-store') as typeof S3StoreModule;
    s3Client ??= createS3Client();
    return new S3ObjectStore({
      location,
      folder,
      client: s3Client,
      sse: settings.RENGA_BLOB_SSE,
      sseKmsKeyId: settings.RENGA_BLOB_SSE_KMS_KEY_ID,
    });
  }
  return new LocalObjectStore(folder === 'blobs' ? settings.RENGA_BLOB_DIR : settings.RENGA_PAYLOAD_DIR);
}
