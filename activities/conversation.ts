/**
 * A sub-agent's conversation (its transcript) in the blob store: each model turn reads it, appends its
 * own messages and usage, and stores it again, so workflow histories carry a 64-character key per turn
 * instead of the whole, growing conversation. Tool results are untrusted text from outside: they live only
 * here, and with payload encryption on, the stored conversation is encrypted like every payload.
 */
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { ApplicationFailure } from '@temporalio/common';
import { deserializePayload, serializePayload, type EncryptionCodec } from '../shared/codec';
import type { TokenUsage } from '../shared/schemas';
import type { BlobStore } from './blob-store';
import { FailureType } from './errors';

export interface TranscriptTurn {
  turn: number;
  model: string;
  usage: TokenUsage;
  costUsd: number;
  stopReason: string | null;
  /** Tools the model asked for in this turn. */
  toolUses: string[];
}

export interface Transcript {
  subtaskId: string;
  system: string;
  tools: string[];
  messages: MessageParam[];
  turns: TranscriptTurn[];
}

const SEALED = 'renga-sealed:v1:';
const utf8 = new TextEncoder();

export class ConversationStore {
  constructor(
    private readonly blobs: BlobStore,
    private readonly encryption?: EncryptionCodec,
  ) {}

  put(transcript: Transcript): Promise<string> {
    return this.putText(JSON.stringify(transcript));
  }

  async get(key: string): Promise<Transcript> {
    return JSON.parse(await this.getText(key)) as Transcript;
  }

  async putText(text: string): Promise<string> {
    if (!this.encryption?.enabled) return this.blobs.put(text);
    const [sealed] = await this.encryption.encode([
      { metadata: { encoding: utf8.encode('json/plain') }, data: utf8.encode(text) },
    ]);
    return this.blobs.put(SEALED + serializePayload(sealed!).toString('base64'));
  }

  async getText(key: string): Promise<string> {
    const stored = await this.blobs.get(key);
    if (stored === null) {
      // Retryable: another worker that shares the blob store may have it.
      throw ApplicationFailure.create({
        type: FailureType.ContextMissing,
        message: `conversation ${key} is not in the blob store ${this.blobs.dir}; workers must share RENGA_BLOB_DIR`,
      });
    }
    if (!stored.startsWith(SEALED)) return stored;
    if (!this.encryption) throw new Error(`conversation ${key} is encrypted and no encryption keys are configured`);
    const [open] = await this.encryption.decode([
      deserializePayload(Buffer.from(stored.slice(SEALED.length), 'base64')),
    ]);
    return Buffer.from(open!.data ?? new Uint8Array()).toString('utf8');
  }
}
