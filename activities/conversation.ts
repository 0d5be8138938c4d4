/**
 * A sub-agent's conversation (its transcript) in the blob store: each model turn reads it, appends its
 * own messages and usage, and stores it again, so workflow histories carry a 64-character key per turn
 * instead of the whole, growing conversation. Tool results are untrusted text from outside: they live only
 * here, and with payload encryption on, the blob store seals them like every payload.
 */
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { ApplicationFailure } from '@temporalio/common';
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

export class ConversationStore {
  constructor(private readonly blobs: BlobStore) {}

  put(transcript: Transcript): Promise<string> {
    return this.blobs.put(JSON.stringify(transcript));
  }

  async get(key: string): Promise<Transcript> {
    return JSON.parse(await this.getText(key)) as Transcript;
  }

  /** Tool results: stored apart so a turn's input names them by key. */
  putText(text: string): Promise<string> {
    return this.blobs.put(text);
  }

  async getText(key: string): Promise<string> {
    const stored = await this.blobs.get(key);
    if (stored === null) {
      // Retryable: another worker that shares the blob store may have it.
      throw ApplicationFailure.create({
        type: FailureType.ContextMissing,
        message: `conversation ${key} is not in the blob store ${this.blobs.location}; workers must share RENGA_BLOB_URL`,
      });
    }
    return stored;
  }
}
