/**
 * A real S3-compatible server for tests: s3rver (MIT, pure Node, so `npm ci` installs it — no Go
 * build, no container). Started on a random local port with one bucket, stopped by the test.
 */
import S3rver from 's3rver';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface S3TestServer {
  /** http://127.0.0.1:port */
  endpoint: string;
  bucket: string;
  /** The server's own storage, for tests that must age objects (gc). */
  dataDir: string;
  /** The standard AWS variables that point the SDK (and so renga) at this server. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startS3Server(bucket = 'renga-test'): Promise<S3TestServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'renga-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dataDir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    dataDir,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: 'us-east-1',
      // s3rver's fixed development credentials (it checks signatures against them).
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
    stop: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
