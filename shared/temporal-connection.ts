/**
 * How every renga process reaches Temporal: Temporal's own environment configuration
 * (@temporalio/envconfig) — the `TEMPORAL_*` variables (ADDRESS, NAMESPACE, API_KEY, TLS,
 * TLS_CLIENT_CERT_PATH …) and the `temporal.toml` profiles (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE or
 * `--profile`) that the `temporal` CLI and every SDK share. So a cluster with TLS, mTLS or API keys
 * (Temporal Cloud included) is one profile away, configured once for all tools.
 *
 * Problems with the configuration itself (a missing profile, an unreadable certificate) are
 * ConfigErrors, exit 2, found before any network call; what happens on the wire is classified by
 * {@link describeConnectError}.
 */
import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ConfigError } from './config-error';

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** Connection options beyond the address, shared by Connection (client) and NativeConnection (worker). */
export interface TemporalAccess {
  apiKey?: string;
  tls?: TLSConfig | boolean;
  metadata?: Record<string, string>;
  /** Where the settings came from, for messages, e.g. "profile prod in /etc/temporal.toml". */
  source: string;
}

export interface ResolvedTemporal extends TemporalAccess {
  address: string;
  namespace: string;
}

/** The server refused the credentials (API key or client certificate): fix the configuration, exit 2. */
export class TemporalAuthError extends ConfigError {
  override readonly name = 'TemporalAuthError';
}
/** No answer, or no TLS session, from the server: exit 3. */
export class TemporalUnreachableError extends Error {
  override readonly name = 'TemporalUnreachableError';
}

const FILE_FIELDS = [
  ['serverCACert', 'server CA certificate', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'CERTIFICATE'],
  ['clientCert', 'client certificate', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'CERTIFICATE'],
  ['clientKey', 'client key', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'PRIVATE KEY'],
] as const;

function readPem(
  source: ConfigDataSource | undefined,
  what: string,
  variable: string,
  marker: string,
): Buffer | undefined {
  if (!source) return undefined;
  let bytes: Buffer;
  if ('path' in source) {
    try {
      bytes = readFileSync(source.path);
    } catch (err) {
      throw new ConfigError(
        `TLS ${what} ${source.path} (${variable} or the profile's tls section) is unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { cause: err },
      );
    }
  } else bytes = Buffer.from(source.data);
  if (!bytes.toString('utf8').includes(marker))
    throw new ConfigError(
      `TLS ${what}${'path' in source ? ` ${source.path}` : ''} (${variable}) is not a PEM file: no "-----BEGIN … ${marker}-----" block`,
    );
  return bytes;
}

function loadProfile(env: Record<string, string>): { profile: ClientConfigProfile; source: string } {
  const name = env.TEMPORAL_PROFILE;
  const file = env.TEMPORAL_CONFIG_FILE ?? 'the default temporal.toml';
  // envconfig skips a missing file silently; one named explicitly must exist.
  if (env.TEMPORAL_CONFIG_FILE && !existsSync(env.TEMPORAL_CONFIG_FILE))
    throw new ConfigError(`TEMPORAL_CONFIG_FILE=${env.TEMPORAL_CONFIG_FILE}: no such file`);
  try {
    const profile = loadClientConfigProfile({ overrideEnvVars: env, ...(name ? { profile: name } : {}) });
    const parts = [
      ...(env.TEMPORAL_ADDRESS ? ['TEMPORAL_ADDRESS'] : []),
      ...(name ? [`profile ${name} in ${file}`] : []),
    ];
    if (!parts.length) parts.push(profile.address ? `the default profile in ${file}` : 'the default address');
    return { profile, source: parts.join(', ') };
  } catch (err) {
    const msg = (err as Error).message;
    if (/not found in config data/.test(msg))
      throw new ConfigError(`Temporal profile '${name}' (--profile / TEMPORAL_PROFILE) is not in ${file}`, {
        cause: err,
      });
    throw new ConfigError(`Temporal configuration ${file} (TEMPORAL_CONFIG_FILE) cannot be used: ${msg}`, {
      cause: err,
    });
  }
}

/** Reads and checks the Temporal settings once; `env` has empty values removed already. */
export function resolveTemporal(env: Record<string, string>): ResolvedTemporal {
  const { profile, source } = loadProfile(env);
  const address = profile.address || DEFAULT_TEMPORAL_ADDRESS;
  if (!/^[^\s:]+:\d{1,5}$/.test(address))
    throw new ConfigError(`TEMPORAL_ADDRESS (or the profile's address): must be host:port, got '${address}'`);
  const tlsConf = profile.tls;
  let tls: TLSConfig | boolean | undefined;
  if (tlsConf?.disabled) tls = false;
  else if (tlsConf) {
    const [ca, cert, key] = FILE_FIELDS.map(([field, what, variable, marker]) =>
      readPem(tlsConf[field], what, variable, marker),
    );
    if ((cert === undefined) !== (key === undefined))
      throw new ConfigError(
        'mTLS needs both a client certificate and its key (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH)',
      );
    tls = {
      ...(tlsConf.serverName ? { serverNameOverride: tlsConf.serverName } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
    };
  } else if (profile.apiKey) tls = true; // An API key is never sent in the clear.
  return {
    address,
    namespace: profile.namespace || DEFAULT_TEMPORAL_NAMESPACE,
    ...(profile.apiKey ? { apiKey: profile.apiKey } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length ? { metadata: profile.grpcMeta } : {}),
    source,
  };
}

/** Connection options for Connection.connect / NativeConnection.connect. */
export function connectionOptions(address: string, access: TemporalAccess) {
  return {
    address,
    ...(access.tls !== undefined ? { tls: access.tls } : {}),
    ...(access.apiKey ? { apiKey: access.apiKey } : {}),
    ...(access.metadata ? { metadata: access.metadata } : {}),
  };
}

/** The error and its causes, outermost first (the SDK wraps the gRPC status in a ServiceError). */
function chain(err: unknown): { code?: unknown; message: string }[] {
  const out: { code?: unknown; message: string }[] = [];
  for (let e: unknown = err; e && out.length < 5; e = (e as { cause?: unknown }).cause)
    out.push({ code: (e as { code?: unknown }).code, message: e instanceof Error ? e.message : String(e) });
  return out;
}

/** The server answered and refused who we are (UNAUTHENTICATED / PERMISSION_DENIED). */
export function isCredentialError(err: unknown): boolean {
  return chain(err).some((c) => c.code === 16 || c.code === 7);
}

/**
 * A failed connect often says only "Failed to connect before the deadline". With TLS on, one plain
 * TLS handshake with the same settings tells why (unknown CA, wrong name, client certificate
 * required). Bounded: it gives the server a few seconds to answer, then reports nothing.
 */
export async function probeTls(address: string, access: TemporalAccess, waitMs = 3_000): Promise<string | null> {
  if (!access.tls) return null;
  const t = access.tls === true ? {} : access.tls;
  const [host = '', port = '0'] = [
    address.slice(0, address.lastIndexOf(':')),
    address.slice(address.lastIndexOf(':') + 1),
  ];
  const servername = t.serverNameOverride ?? (isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port: Number(port),
      ALPNProtocols: ['h2'],
      ...(servername ? { servername } : {}),
      ...(t.serverRootCACertificate ? { ca: Buffer.from(t.serverRootCACertificate) } : {}),
      ...(t.clientCertPair ? { cert: Buffer.from(t.clientCertPair.crt), key: Buffer.from(t.clientCertPair.key) } : {}),
    });
    const done = (v: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), waitMs);
    socket.once('error', (err) => done(err.message));
    // TLS 1.3: a server that wants a client certificate says so just after the handshake.
    socket.once('secureConnect', () => socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')));
    socket.once('close', () => done(null));
  });
}

/**
 * Turns a failed first call into an error that says what went wrong: credentials refused (exit 2),
 * TLS handshake failed or server unreachable (exit 3). Never echoes a key.
 */
export async function describeConnectError(err: unknown, address: string, access: TemporalAccess): Promise<Error> {
  const causes = chain(err);
  const msg = causes.map((c) => c.message).join(': ');
  const where = `Temporal at ${address} (${access.source})`;
  if (isCredentialError(err) || /UNAUTHENTICATED|PERMISSION_DENIED/.test(msg))
    return new TemporalAuthError(
      `${where} rejected the credentials: ${access.apiKey ? 'the API key (TEMPORAL_API_KEY) was refused' : 'no API key was sent and the server wants one (TEMPORAL_API_KEY)'}: ${causes.at(-1)?.message ?? msg}`,
      { cause: err },
    );
  const tlsProblem = /certificate|handshake|SSL|TLS|alert|wrong version number/.test(msg)
    ? msg
    : await probeTls(address, access);
  if (tlsProblem) {
    const hint =
      'check TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME and, if the server wants mTLS, TEMPORAL_TLS_CLIENT_CERT_PATH/KEY_PATH';
    return new TemporalUnreachableError(`TLS handshake with ${where} failed (${hint}): ${tlsProblem}`, { cause: err });
  }
  return new TemporalUnreachableError(
    `cannot reach ${where}${access.tls ? '' : ' (TLS is off; if the server requires it set TEMPORAL_TLS=true)'}: ${msg}`,
    { cause: err },
  );
}
