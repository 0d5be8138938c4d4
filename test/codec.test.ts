/**
 * Payload encryption, the codec server and claim-checked large payloads, against a real dev
 * server, a real worker process and real HTTP: what the Temporal server stores is ciphertext.
 */
import type { Payload } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, getResult, startJob, type RengaClient } from '../client/api';
import { startCodecServer, type CodecServer } from '../client/codec-server';
import {
  CLAIM_CHECK_ENCODING,
  ClaimCheckCodec,
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  EncryptionKeyConfigError,
  EncryptionKeyMissingError,
  InvalidPayloadRefError,
  PayloadDecryptionError,
  loadKeys,
  newKeyLine,
  parseKeys,
} from '../shared/codec';
import { BlobStore } from '../shared/blobs/blob-store';
import { loadClientConfig, loadCodecServerConfig, type ClientConfig } from '../shared/config';
import { workflowFailure } from './helpers/failure';
import { startStack, waitUntil, type TestStack } from './helpers/stack';

const K1 = newKeyLine('k1');
const K2 = newKeyLine('k2');
const K1_IMPOSTOR = newKeyLine('k1');
const CANARY = 'Zanzibar-Quokka-Canary';
const TOKEN = 'test-codec-token-0123456789abcdef';
const UI_ORIGIN = 'http://ui.example.test:8080';

const json = (v: unknown): Payload => ({
  metadata: { encoding: new TextEncoder().encode('json/plain') },
  data: new TextEncoder().encode(JSON.stringify(v)),
});
const text = (p: Payload) => new TextDecoder().decode(p.data ?? new Uint8Array());

describe('codecs (in process)', () => {
  test('AES-GCM round trip; key id in metadata; rotation decrypts old payloads with the old key', async () => {
    const old = new EncryptionCodec(parseKeys(K1, 'test'));
    const [enc] = await old.encode([json({ prompt: CANARY })]);
    expect(new TextDecoder().decode(enc!.metadata!.encoding!)).toBe(ENCRYPTED_ENCODING);
    expect(new TextDecoder().decode(enc!.metadata!['encryption-key-id']!)).toBe('k1');
    expect(Buffer.from(enc!.data!).includes(CANARY)).toBe(false);

    const rotated = new EncryptionCodec(parseKeys(`${K2},${K1}`, 'test'));
    expect(text((await rotated.decode([enc!]))[0]!)).toContain(CANARY);
    const [fresh] = await rotated.encode([json('new')]);
    expect(new TextDecoder().decode(fresh!.metadata!['encryption-key-id']!)).toBe('k2');
  });

  test('a wrong key fails clearly: same id but other bytes, unknown id, no keys at all', async () => {
    const [enc] = await new EncryptionCodec(parseKeys(K1, 'test')).encode([json(CANARY)]);
    await expect(new EncryptionCodec(parseKeys(K1_IMPOSTOR, 'test')).decode([enc!])).rejects.toThrow(
      PayloadDecryptionError,
    );
    await expect(new EncryptionCodec(parseKeys(K2, 'test')).decode([enc!])).rejects.toThrow(EncryptionKeyMissingError);
    await expect(new EncryptionCodec([]).decode([enc!])).rejects.toThrow(
      /no encryption keys are configured; set RENGA_ENCRYPTION_KEYS/,
    );
  });

  test('malformed key configuration names the variable', () => {
    expect(() => loadKeys({ keys: 'k1:c2hvcnQ=' })).toThrow(EncryptionKeyConfigError);
    expect(() => loadKeys({ keys: 'k1:c2hvcnQ=' })).toThrow(/RENGA_ENCRYPTION_KEYS: key "k1" is 5 bytes/);
    expect(() => loadKeys({ keysFile: '/nonexistent/keys' })).toThrow(/RENGA_ENCRYPTION_KEYS_FILE=\/nonexistent\/keys/);
  });

  test('claim check: small payloads stay inline, large ones leave a reference', async () => {
    const dir = path.join(os.tmpdir(), `renga-cc-${process.pid}`);
    const cc = new ClaimCheckCodec(dir, 1024);
    const big = json('x'.repeat(5000));
    const [small, ref] = await cc.encode([json('hi'), big]);
    expect(text(small!)).toBe('"hi"');
    expect(new TextDecoder().decode(ref!.metadata!.encoding!)).toBe(CLAIM_CHECK_ENCODING);
    expect(ref!.data!.length).toBeLessThan(200);
    expect(text((await cc.decode([ref!]))[0]!)).toBe(text(big));
    await expect(new ClaimCheckCodec(`${dir}-elsewhere`, 1024).decode([ref!])).rejects.toThrow(
      /must share RENGA_PAYLOAD_DIR/,
    );
    // A reference that is not a payload key: clients see the error; a worker hands its run a marker to fail on.
    const crafted = {
      metadata: ref!.metadata,
      data: new TextEncoder().encode('{"sha256":"../../etc/passwd","bytes":1}'),
    };
    await expect(cc.decode([crafted])).rejects.toThrow(InvalidPayloadRefError);
    const [marker] = await new ClaimCheckCodec(dir, 1024, { invalidRefs: 'fail-run' }).decode([crafted]);
    expect(JSON.parse(text(marker!))).toEqual({
      $rengaUndecodablePayload: { type: 'InvalidPayloadRef', message: 'not a payload reference: "../../etc/passwd"' },
    });
  });
});

describe('on a real server', () => {
  let stack: TestStack;
  let rc: RengaClient;
  let config: ClientConfig;
  let codec: CodecServer;
  let payloadDir: string;

  beforeAll(async () => {
    stack = await startStack();
    payloadDir = path.join(stack.tmpDir, 'payloads');
    const env = { RENGA_ENCRYPTION_KEYS: K1, RENGA_PAYLOAD_DIR: payloadDir };
    await stack.spawnWorker(env);
    config = {
      ...loadClientConfig(env),
      TEMPORAL_ADDRESS: stack.server.address,
      TEMPORAL_NAMESPACE: stack.server.namespace,
      RENGA_TASK_QUEUE: stack.taskQueue,
    };
    rc = await connect(config);
    codec = await startCodecServer(
      loadCodecServerConfig({
        ...env,
        RENGA_CODEC_TOKEN: TOKEN,
        RENGA_CODEC_PORT: '0',
        RENGA_CODEC_CORS_ORIGIN: UI_ORIGIN,
      }),
    );
  });
  afterAll(async () => {
    await codec?.close();
    await rc?.close();
    await stack?.close();
  });

  let jobId: string;
  test('a job runs encrypted; history read with a plain client shows no plaintext prompt, plan or answer', async () => {
    jobId = await startJob(rc, { job: `Write about the ${CANARY} in three parts`, maxSubtasks: 3 });
    expect(jobId).not.toMatch(/zanzibar/i); // the workflow id is plaintext on the server
    const doc = await getResult(rc, jobId);
    expect(doc.status).toBe('completed');
    expect(doc.answer).toBeTruthy();

    // stack.client has no codec: it sees what the Temporal server stores.
    const history = await stack.client.workflow.getHandle(jobId).fetchHistory();
    const raw = JSON.stringify(history);
    expect(raw.toLowerCase()).not.toContain(CANARY.toLowerCase());
    expect(raw).not.toContain(doc.answer!.slice(0, 40));
    expect(raw).toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    // …and cannot read the result.
    await expect(stack.client.workflow.getHandle(jobId).result()).rejects.toThrow();
  });

  const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${codec.url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  test('the codec server decodes history payloads with the token and refuses without it', async () => {
    const history = await stack.client.workflow.getHandle(jobId).fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const wire = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(started.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(started.data!).toString('base64'),
        },
      ],
    };

    const ok = await post('/decode', wire, { authorization: `Bearer ${TOKEN}`, 'x-namespace': 'default' });
    expect(ok.status).toBe(200);
    const decoded = (await ok.json()) as { payloads: { data: string }[] };
    expect(Buffer.from(decoded.payloads[0]!.data, 'base64').toString()).toContain(CANARY);

    // Token as a path prefix, for a Web UI that cannot add headers; with the namespace segment too.
    expect((await post(`/auth/${TOKEN}/default/decode`, wire)).status).toBe(200);

    expect((await post('/decode', wire)).status).toBe(401);
    expect((await post('/decode', wire, { authorization: 'Bearer not-the-token' })).status).toBe(401);
    expect((await post('/auth/not-the-token/decode', wire)).status).toBe(401);

    // CORS: the UI origin gets a grant; any other origin is refused before the token is looked at.
    const pre = await fetch(`${codec.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(
      (await post('/decode', wire, { origin: 'http://evil.example', authorization: `Bearer ${TOKEN}` })).status,
    ).toBe(403);

    // Encode then decode round-trips through the same chain.
    const enc = await post(
      '/encode',
      {
        payloads: [
          {
            metadata: { encoding: Buffer.from('json/plain').toString('base64') },
            data: Buffer.from('"x"').toString('base64'),
          },
        ],
      },
      { authorization: `Bearer ${TOKEN}` },
    );
    const encoded = (await enc.json()) as { payloads: { metadata: Record<string, string> }[] };
    expect(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
  });

  test('a client with the wrong key fails clearly instead of showing garbage', async () => {
    const wrong = await connect({ ...config, RENGA_ENCRYPTION_KEYS: K1_IMPOSTOR });
    try {
      await expect(getResult(wrong, jobId)).rejects.toThrow(
        /failed authentication: the configured key "k1" is not the one that encrypted it/,
      );
    } finally {
      await wrong.close();
    }
  });

  test("the blob directory holds only ciphertext: a job's context and its shard outputs", async () => {
    // Over the inline limit (16 KiB), so the context goes to the blob store; shards of two store their outputs.
    const context = [{ name: 'notes.txt', content: `The ${CANARY} lives on an island. `.repeat(600) }];
    const id = await startJob(rc, { job: 'List four facts from the notes', context, maxSubtasks: 4, shardSize: 2 });
    const doc = await getResult(rc, id);
    expect(doc.status).toBe('completed');
    expect(doc.shards?.length).toBe(2);

    const blobDir = path.join(stack.tmpDir, 'blobs');
    const files = readdirSync(blobDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => readFileSync(path.join(e.parentPath, e.name)));
    // The context and two shards' result arrays at least (outputs that fit the preview are inline in them).
    expect(files.length).toBeGreaterThanOrEqual(3);
    // Renga reads them back with the key: the shard results hold the outputs in the clear…
    const blobs = new BlobStore(blobDir, new EncryptionCodec(parseKeys(K1, 'test')));
    const outputs: string[] = [];
    for (const shard of doc.shards!) {
      const results = JSON.parse((await blobs.get(shard.resultsRef!))!) as { output: string | null }[];
      outputs.push(...results.map((r) => r.output ?? '').filter((o) => o.length >= 20));
    }
    expect(outputs.length).toBe(4);
    // …while on disk every file is sealed, and neither the context nor any output is there in plaintext.
    for (const f of files) {
      expect(f.subarray(0, 16).toString()).toBe('renga-sealed-v1\n');
      expect(f.toString('latin1').toLowerCase()).not.toContain(CANARY.toLowerCase());
      for (const o of outputs) expect(f.includes(Buffer.from(o.slice(0, 20)))).toBe(false);
    }
  });

  test('a failed job: its failure messages and stack traces are encrypted in the history, yet read decoded by renga', async () => {
    // The failure message names the model, which only the (encrypted) input holds.
    const model = 'claude-quokka-canary-9';
    const withModel = await connect({ ...config, RENGA_EXTRA_MODELS: [model] });
    try {
      const id = await startJob(withModel, { job: 'Name two rivers', maxSubtasks: 2, workerModel: model });
      const doc = await getResult(withModel, id);
      expect(doc.status).toBe('failed');
      expect(doc.error).toMatch(new RegExp(`^ModelNotFound: subtask s\\d failed: unknown model '${model}'`));

      const history = await stack.client.workflow.getHandle(id).fetchHistory();
      const failures = (history.events ?? []).flatMap((e) => [
        e.activityTaskFailedEventAttributes?.failure,
        e.workflowExecutionFailedEventAttributes?.failure,
      ]);
      expect(failures.filter(Boolean).length).toBeGreaterThanOrEqual(2);
      for (const f of failures.filter((x) => x != null)) {
        expect(f.message).toBe('Encoded failure');
        expect(f.stackTrace ?? '').toBe('');
        expect(Buffer.from(f.encodedAttributes!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
      }
      expect(JSON.stringify(history).toLowerCase()).not.toContain('quokka');
    } finally {
      await withModel.close();
    }
  });

  test('a crafted claim-check reference (path traversal) fails the run with InvalidPayloadRef instead of retrying its task', async () => {
    const workflowId = `crafted-ref-${Date.now()}`;
    const crafted: Payload = {
      metadata: { encoding: new TextEncoder().encode(CLAIM_CHECK_ENCODING) },
      data: new TextEncoder().encode(JSON.stringify({ sha256: '../../../../etc/passwd', bytes: 10 })),
    };
    // Straight through the API: no client of ours would write such a reference.
    await stack.client.workflowService.startWorkflowExecution({
      namespace: stack.server.namespace,
      workflowId,
      workflowType: { name: 'jobWorkflow' },
      taskQueue: { name: stack.taskQueue },
      input: { payloads: [crafted] },
      requestId: randomUUID(),
    });
    const handle = stack.client.workflow.getHandle(workflowId);
    // Either it ends, or its first workflow task fails (the bug: it would then fail again forever).
    const events = await waitUntil(async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      const ended = events.some((e) => e.workflowExecutionFailedEventAttributes);
      const taskFailed = events.some((e) => e.workflowTaskFailedEventAttributes);
      return ended || taskFailed ? events : undefined;
    }, 'the run ends or a workflow task fails');
    expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
    expect(events.some((e) => e.workflowExecutionFailedEventAttributes)).toBe(true);
    // Read through renga's client: with encryption on, the message is in the encrypted attributes.
    const cause = await workflowFailure(rc.client.workflow.getHandle(workflowId));
    expect(cause.type).toBe('InvalidPayloadRef');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(/not a payload reference/);
  });

  test('input past the 2 MiB payload limit: refused by the server without the claim check, offloaded with it', async () => {
    // ~2.2 MB of UTF-8 (3 bytes a character) that still fits a 200 K-token context window: the
    // pre-flight refuses, before any call, a context that no model could read.
    const context = [{ name: 'big.txt', content: '日本語のテキスト。'.repeat(80_000) }];
    const input = { job: 'Summarise the attached text', context, maxSubtasks: 2 };
    expect(Buffer.byteLength(context[0]!.content)).toBeGreaterThan(2 * 1024 * 1024);

    // Without renga's codecs the server rejects the start: this is the crash the claim check prevents.
    const refused = await stack.client.workflow
      .start('jobWorkflow', { args: [input], taskQueue: stack.taskQueue, workflowId: `too-big-${Date.now()}` })
      .then(
        () => null,
        (err: Error) => err,
      );
    expect(refused).toBeInstanceOf(Error);
    expect(`${refused!.message}: ${(refused!.cause as Error | undefined)?.message}`).toMatch(
      /Blob data size exceeds limit/i,
    );

    const id = await startJob(rc, input);
    const doc = await getResult(rc, id);
    expect(doc.status).toBe('completed');
    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    const input0 = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect(Buffer.from(input0.metadata!.encoding!).toString()).toBe(CLAIM_CHECK_ENCODING);
    expect(input0.data!.length).toBeLessThan(200);
    const shards = readdirSync(payloadDir);
    expect(shards.length).toBeGreaterThan(0);
  });
});
