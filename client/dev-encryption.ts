/**
 * `renga dev --encrypt`: payload encryption on the local stack, with a codec server so the dev
 * server's Web UI still shows readable payloads. Off by default: `npm run dev` stays zero-setup.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { newKeyLine } from '../shared/codec';
import { loadCodecServerConfig } from '../shared/config';
import { freePort } from '../temporal/dev-server';
import { startCodecServer, type CodecServer } from './codec-server';

/**
 * Unless keys are already configured, makes (once) and uses a key file beside the dev database, so
 * jobs kept in that database stay readable across restarts of the stack.
 */
export function ensureDevKeys(dbFile: string, log: (line: string) => void): void {
  if (process.env.RENGA_ENCRYPTION_KEYS || process.env.RENGA_ENCRYPTION_KEYS_FILE) return;
  const file = path.join(path.dirname(path.resolve(dbFile)), 'dev-keys');
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `# renga dev encryption keys: first line encrypts, all decrypt\n${newKeyLine('dev1')}\n`, {
      mode: 0o600,
    });
    log(`made a dev encryption key: ${file}`);
  }
  process.env.RENGA_ENCRYPTION_KEYS_FILE = file;
}

export interface DevCodec {
  server: CodecServer;
  /** What the UI is pointed at (the token rides in the path; see client/codec-server.ts). */
  uiEndpoint: string;
}

export async function startDevCodecServer(uiUrl: string, log: (line: string) => void): Promise<DevCodec> {
  const token = randomBytes(24).toString('hex');
  const config = loadCodecServerConfig({
    ...process.env,
    RENGA_CODEC_TOKEN: token,
    RENGA_CODEC_PORT: String(await freePort()),
    RENGA_CODEC_CORS_ORIGIN: new URL(uiUrl).origin,
  });
  const server = await startCodecServer(config, log);
  return { server, uiEndpoint: `${server.url}/auth/${token}` };
}
