/**
 * Object storage (shared/blobs/): both backends behind one interface, the encryption layer over
 * it, and a job whose two worker processes share nothing but an S3 bucket (a real S3-compatible
 * server, s3rver), with one of them killed mid-fan-out.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { connect, getResult, startJob, type RengaClient } from '../client/api';
import { BlobStore } from '../shared/blobs/blob-store';
import { LocalObjectStore } from '../shared/blobs/local-store';
import { ObjectStoreError, type ObjectStore } from '../shared/blobs/object-store';
import { createS3Client, S3ObjectStore } from '../shared/blobs/s3-store';
import { parseS3Url } from '../shared/blobs/s3-url';
import { EncryptionCodec, parseKeys } from '../shared/codec';
import { ConfigError, loadClientConfig } from '../shared/config';
import { ResultDocumentSchema } from '../shared/schemas';
import { startS3Server, type S3TestServer } from './helpers/s3-server';
import { belongsTo, okCallsOf } from './helpers/calls';
import { runCli, subtaskIdOf, useStack, waitUntil } from './helpers/stack';

const KEYS = 'k1:' + Buffer.alloc(32, 7).toString('base64');
const stack = useStack({}, { worker: false });
let s3: S3TestServer;

beforeAll(async () => {
  s3 = await startS3Server();
  // The SDK reads these in this process too (the client's payload store, the direct checks below).
  Object.assign(process.env, s3.env);
});
afterAll(async () => {
  await s3?.stop();
});

const s3Store = (folder: string, extra: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}) =>
  new S3ObjectStore({ location: parseS3Url(`s3://${s3.bucket}/t-${folder}`)!, folder: 'blobs', ...extra });

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function listAll(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list()) keys.push(o.key);
  return keys;
}

describe('backends', () => {
  test.each(['local', 's3'])(
    '%s: content-addressed, idempotent puts; a missing key is null; list and delete',
    async (kind) => {
      const backend =
        kind === 'local' ? new LocalObjectStore(path.join(stack.tmpDir, 'contract')) : s3Store('contract');
      const blobs = new BlobStore(backend);
      const key = await blobs.put('hello, blobs');
      expect(key).toBe(createHash('sha256').update('hello, blobs').digest('hex'));
      expect(await blobs.put('hello, blobs')).toBe(key);
      expect(await blobs.get(key)).toBe('hello, blobs');
      expect(await blobs.get('0'.repeat(64))).toBeNull();
      expect(await listAll(backend)).toEqual([key]);
      await backend.delete([key]);
      expect(await blobs.get(key)).toBeNull();
      await expect(backend.get('../etc/passwd')).rejects.toThrow(/not a blob key/);
    },
  );

  test('local: a put after its directory was removed makes it again (directories are remembered, not trusted)', async () => {
    const dir = path.join(stack.tmpDir, 'removed-dir');
    const blobs = new BlobStore(new LocalObjectStore(dir));
    const first = await blobs.put('first object');
    rmSync(path.join(dir, first.slice(0, 2)), { recursive: true });
    rmSync(dir, { recursive: true });
    // Same two-hex-digit directory as the first object, which this store believes it made.
    let text = 'second object';
    for (let i = 0; sha(text).slice(0, 2) !== first.slice(0, 2); i++) text = `second object ${i}`;
    const second = await blobs.put(text);
    expect(second.slice(0, 2)).toBe(first.slice(0, 2));
    expect(await blobs.get(second)).toBe(text);
  });

  test('S3 puts pass server-side encryption through to the request', async () => {
    const client = createS3Client();
    const seen: string[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
        seen.push(
          `${headers['x-amz-server-side-encryption']}|${headers['x-amz-server-side-encryption-aws-kms-key-id']}`,
        );
        return next(args);
      },
      { step: 'finalizeRequest' },
    );
    const store = s3Store('sse', { client, sse: 'aws:kms', sseKmsKeyId: 'alias/renga' });
    await new BlobStore(store).put('secret-ish');
    expect(seen).toEqual(['aws:kms|alias/renga']);
  });

  test('with encryption on, blobs are sealed before they leave the process and keys reveal nothing', async () => {
    const codec = new EncryptionCodec(parseKeys(KEYS, 'test'));
    const store = s3Store('sealed');
    const text = 'the confidential job context '.repeat(50);
    const key = await new BlobStore(store, codec).put(text);
    expect(key).not.toBe(createHash('sha256').update(text).digest('hex'));
    expect(await new BlobStore(store, codec).put(text)).toBe(key);
    const raw = await store.get(key);
    expect(raw!.includes(Buffer.from('confidential'))).toBe(false);
    expect(await new BlobStore(store, codec).get(key)).toBe(text);
    await expect(new BlobStore(store, new EncryptionCodec([])).get(key)).rejects.toThrow(
      /encrypted with key "k1" but no encryption keys are configured/,
    );
  });

  test('errors name the store and S3 error; a bad RENGA_BLOB_URL is a config error naming the variable', async () => {
    const missing = new S3ObjectStore({ location: parseS3Url('s3://no-such-bucket/x')!, folder: 'blobs' });
    const err = await missing.put('a'.repeat(64), Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect((err as Error).message).toMatch(
      /object store s3:\/\/no-such-bucket\/x\/blobs\/: put a{12}… failed: NoSuchBucket/,
    );
    expect(() => loadClientConfig({ RENGA_BLOB_URL: 'https://bucket/x' })).toThrow(ConfigError);
    expect(() => loadClientConfig({ RENGA_BLOB_URL: 'https://bucket/x' })).toThrow(
      /RENGA_BLOB_URL: must be s3:\/\/bucket/,
    );
    expect(() => loadClientConfig({ RENGA_BLOB_SSE: 'rot13' })).toThrow(/RENGA_BLOB_SSE/);
  });
});

describe('a job on two worker processes that share only a bucket', () => {
  let rc: RengaClient;
  let env: Record<string, string>;
  afterAll(async () => {
    await rc?.close();
  });

  test('one worker is killed mid-fan-out: the job completes, nothing touches local disk, outputs load back, gc removes old blobs', async () => {
    const local = (name: string) => path.join(stack.tmpDir, name);
    env = {
      ...s3.env,
      RENGA_BLOB_URL: `s3://${s3.bucket}/jobs`,
      RENGA_ENCRYPTION_KEYS: KEYS,
      RENGA_PAYLOAD_OFFLOAD_BYTES: '1024',
      RENGA_PAYLOAD_DIR: local('client-payloads'),
      RENGA_BLOB_DIR: local('client-blobs'),
    };
    rc = await connect({
      ...loadClientConfig(env),
      TEMPORAL_ADDRESS: stack.server.address,
      TEMPORAL_NAMESPACE: stack.server.namespace,
      RENGA_TASK_QUEUE: stack.taskQueue,
    });
    stack.sim.configure({ latencyMs: { 'claude-haiku-4-5': 400 } });
    const workerEnv = (name: string) => ({
      ...env,
      RENGA_BLOB_DIR: local(`${name}-blobs`),
      RENGA_PAYLOAD_DIR: local(`${name}-payloads`),
    });
    const a = await stack.spawnWorker(workerEnv('a'));
    await stack.spawnWorker(workerEnv('b'));

    const id = await startJob(rc, {
      job: 'Summarise each section of the attached field guide',
      // Longer than the inline limit: the shared context goes to the blob store once.
      context: [{ name: 'guide.txt', content: 'A long field guide paragraph about birds. '.repeat(600) }],
      maxSubtasks: 24,
      concurrency: 4,
      shardSize: 8,
      heartbeatTimeoutSeconds: 2,
    });
    const answered = () =>
      new Set(
        stack.sim.log
          .filter((e) => e.outcome === 'ok' && belongsTo(e.workflowId, id) && e.activityType === 'runSubtask')
          .map((e) => subtaskIdOf(e.lastUserText)),
      );
    await waitUntil(() => answered().size >= 6, 'six subtasks are answered');
    await a.kill('SIGKILL');

    const doc = await getResult(rc, id);
    expect(ResultDocumentSchema.parse(doc)).toEqual(doc);
    expect(doc.status).toBe('completed');
    expect(doc.shards!.map((s) => s.completed)).toEqual([8, 8, 8]);
    // No process wrote (so none could read) a local blob or payload: everything went through the bucket.
    for (const dir of ['a-blobs', 'a-payloads', 'b-blobs', 'b-payloads', 'client-payloads', 'client-blobs'])
      expect(existsSync(local(dir))).toBe(false);
    const blobs = new S3ObjectStore({ location: parseS3Url(`s3://${s3.bucket}/jobs`)!, folder: 'blobs' });
    const payloads = new S3ObjectStore({ location: parseS3Url(`s3://${s3.bucket}/jobs`)!, folder: 'payloads' });
    // The context and the three shards' results at least (outputs that fit a shard's preview are inline in them).
    const stored = (await listAll(blobs)).length;
    expect(stored).toBeGreaterThanOrEqual(4);
    expect((await listAll(payloads)).length).toBeGreaterThan(0);

    // `renga result --outputs` loads every full output back from the bucket, decrypted.
    const served = new Map<string, string>();
    for (const e of await okCallsOf(stack.sim, id)) {
      const sid = subtaskIdOf(e.lastUserText);
      if (sid && e.activityType === 'runSubtask') served.set(sid, e.responseText!);
    }
    const out = await runCli(stack, ['result', id, '--outputs', '--json'], env);
    expect(out.stderr).not.toMatch(/Error/);
    expect(out.code).toBe(0);
    const full = ResultDocumentSchema.parse(JSON.parse(out.stdout));
    expect(full.subtasks.map((s) => s.id)).toEqual(Array.from({ length: 24 }, (_, i) => `s${i + 1}`));
    for (const s of full.subtasks) expect(s.output).toBe(served.get(s.id));
    // What a bucket holds is ciphertext: no output text appears in any stored object.
    const sample = served.get('s1')!.slice(0, 40);
    const raw = new S3Client({});
    for (const key of (await listAll(blobs)).slice(0, 10)) {
      const obj = await raw.send(
        new GetObjectCommand({ Bucket: s3.bucket, Key: `jobs/blobs/${key.slice(0, 2)}/${key}` }),
      );
      expect(Buffer.from(await obj.Body!.transformToByteArray()).includes(Buffer.from(sample))).toBe(false);
    }

    // gc: nothing is old yet; once the blobs have aged 40 days, gc removes them and --outputs says so.
    // (Only blobs are aged: the result document itself may be an offloaded payload.)
    const gc1 = await runCli(stack, ['gc', '--older-than', '30d', '--json'], env);
    expect(gc1.code).toBe(0);
    expect((JSON.parse(gc1.stdout) as { stores: { removed: number }[] }).stores.map((s) => s.removed)).toEqual([0, 0]);
    const old = new Date(Date.now() - 40 * 86_400_000);
    const age = (dir: string): void => {
      for (const f of readdirSync(dir)) {
        const p = path.join(dir, f);
        if (statSync(p).isDirectory()) age(p);
        else utimesSync(p, old, old);
      }
    };
    age(path.join(s3.dataDir, s3.bucket, 'jobs', 'blobs'));
    const gc2 = await runCli(stack, ['gc', '--older-than', '30d', '--json'], env);
    expect(gc2.code).toBe(0);
    const removed = (JSON.parse(gc2.stdout) as { stores: { removed: number; kept: number }[] }).stores;
    expect(removed[0]!.removed).toBe(stored);
    expect(removed[0]!.kept).toBe(0);
    expect(removed[1]!.removed).toBe(0);
    const gone = await runCli(stack, ['result', id, '--outputs'], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/is not in s3:\/\/renga-test\/jobs\/blobs\/: removed by renga gc/);
  });
});
