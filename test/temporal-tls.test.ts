/**
 * Connecting to a secured Temporal through Temporal's environment configuration: a temporal.toml
 * profile with mTLS (worker and CLI, `--profile`), TLS with an API key (TEMPORAL_* variables), and
 * errors that say what is wrong. Certificates are made by openssl for this run; the dev server sits
 * behind a TLS front (test/helpers/tls-front.ts) because `temporal server start-dev` has no TLS flags.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadClientConfig } from '../shared/config';
import { makeTestPki, startTlsFront, type TestPki, type TlsFront } from './helpers/tls-front';
import { runCli, useStack } from './helpers/stack';

const stack = useStack({}, { worker: false });
const API_KEY = 'renga-test-api-key-0123456789';
let pki: TestPki;
let mtls: TlsFront;
let keyed: TlsFront;
let toml: string;

beforeAll(async () => {
  pki = makeTestPki(stack.tmpDir);
  const key = readFileSync(pki.serverKey);
  const cert = readFileSync(pki.serverCert);
  mtls = await startTlsFront({ target: stack.server.address, key, cert, clientCa: readFileSync(pki.clientCaCert) });
  keyed = await startTlsFront({ target: stack.server.address, key, cert, apiKey: API_KEY });
  toml = path.join(stack.tmpDir, 'temporal.toml');
  writeFileSync(
    toml,
    [
      '[profile.secure]',
      `address = "${mtls.address}"`,
      `namespace = "${stack.server.namespace}"`,
      '[profile.secure.tls]',
      // The certificate names localhost; an IP as TLS server name is deprecated in Node.
      'server_name = "localhost"',
      `server_ca_cert_path = "${pki.caCert}"`,
      `client_cert_path = "${pki.clientCert}"`,
      `client_key_path = "${pki.clientKey}"`,
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await Promise.all([mtls?.stop(), keyed?.stop()]);
});

/** The stack's plain address removed, so only the profile or the variables below say where Temporal is. */
const secure = (extra: Record<string, string> = {}) => ({ TEMPORAL_ADDRESS: '', TEMPORAL_CONFIG_FILE: toml, ...extra });

test('mTLS from a temporal.toml profile: a worker (TEMPORAL_PROFILE) and the CLI (--profile) run a job end to end', async () => {
  await stack.spawnWorker(secure({ TEMPORAL_PROFILE: 'secure' }));
  const run = await runCli(
    stack,
    ['--profile', 'secure', 'run', 'Name three prime numbers', '--max-subtasks', '2', '--json'],
    secure(),
  );
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect((JSON.parse(run.stdout) as { status: string }).status).toBe('completed');
  // Both processes came through the mTLS front with the client certificate.
  expect(mtls.clientNames.length).toBeGreaterThanOrEqual(2);
  expect(new Set(mtls.clientNames)).toEqual(new Set(['renga-worker']));
  expect(mtls.forwarded).toBeGreaterThan(5);
});

test('TLS with an API key from TEMPORAL_* variables: the right key works, a wrong one is named and exits 2', async () => {
  const env = {
    TEMPORAL_ADDRESS: keyed.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  };
  const ok = await runCli(stack, ['list'], { ...env, TEMPORAL_API_KEY: API_KEY });
  expect(ok.stderr).toBe('');
  expect(ok.code).toBe(0);
  const wrong = await runCli(stack, ['list'], { ...env, TEMPORAL_API_KEY: 'not-the-key' });
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toMatch(/rejected the credentials: the API key \(TEMPORAL_API_KEY\) was refused/);
  expect(wrong.stderr).not.toContain('not-the-key');
  const none = await runCli(stack, ['list'], { ...env, TEMPORAL_TLS: 'true' });
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/no API key was sent and the server wants one/);
});

test('configuration errors exit 2 naming what is wrong; handshake and reachability failures exit 3', async () => {
  const cases: [Record<string, string>, string[], number, RegExp][] = [
    [
      secure({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/client.pem' }),
      ['--profile', 'secure', 'list'],
      2,
      /TLS client certificate \/nonexistent\/client.pem .* is unreadable: ENOENT/,
    ],
    [
      secure({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: toml }),
      ['--profile', 'secure', 'list'],
      2,
      /TLS server CA certificate .*temporal.toml .* is not a PEM file/,
    ],
    [secure(), ['--profile', 'nope', 'list'], 2, /Temporal profile 'nope' \(--profile \/ TEMPORAL_PROFILE\) is not in/],
    [
      { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' },
      ['list'],
      2,
      /TEMPORAL_CONFIG_FILE=\/nonexistent\/temporal.toml: no such file/,
    ],
    [
      // mTLS front, right CA, but no client certificate.
      {
        TEMPORAL_ADDRESS: mtls.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
        TEMPORAL_TLS_SERVER_NAME: 'localhost',
      },
      ['list'],
      3,
      /TLS handshake with Temporal at .* failed/,
    ],
    [
      {
        TEMPORAL_ADDRESS: mtls.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.otherCaCert,
        TEMPORAL_TLS_SERVER_NAME: 'localhost',
      },
      ['list'],
      3,
      /TLS handshake with Temporal at 127\.0\.0\.1:\d+ .* failed/,
    ],
    [{ TEMPORAL_ADDRESS: '127.0.0.1:1' }, ['list'], 3, /cannot reach Temporal at 127\.0\.0\.1:1/],
  ];
  for (const [env, args, code, message] of cases) {
    const r = await runCli(stack, args, env);
    expect({ args, env, code: r.code, stderr: r.stderr }).toEqual({
      args,
      env,
      code,
      stderr: expect.stringMatching(message),
    });
    expect(r.stderr).not.toMatch(/\n\s+at /); // one line, no stack trace
  }
  // The worker refuses the same way before it starts.
  await expect(
    stack.spawnWorker(secure({ TEMPORAL_PROFILE: 'secure', TEMPORAL_TLS_CLIENT_KEY_PATH: '/nonexistent/k' })),
  ).rejects.toThrow(/exited with 2[\s\S]*TLS client key \/nonexistent\/k .* is unreadable/);
});

test('the config keeps the profile address and namespace, and the TEMPORAL_* variables win over it', () => {
  const fromProfile = loadClientConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'secure' });
  expect(fromProfile.TEMPORAL_ADDRESS).toBe(mtls.address);
  expect(fromProfile.temporal.tls).toMatchObject({ clientCertPair: { crt: expect.any(Buffer) } });
  const overridden = loadClientConfig({
    TEMPORAL_CONFIG_FILE: toml,
    TEMPORAL_PROFILE: 'secure',
    TEMPORAL_ADDRESS: 'elsewhere:7233',
  });
  expect(overridden.TEMPORAL_ADDRESS).toBe('elsewhere:7233');
  expect(loadClientConfig({}).TEMPORAL_ADDRESS).toBe('localhost:7233');
  expect(loadClientConfig({ TEMPORAL_API_KEY: 'k' }).temporal.tls).toBe(true);
});
