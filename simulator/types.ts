// Public contract of the simulator. Other packages import these names; keep them stable.

export interface SimulatorOptions {
  port?: number;
  host?: string;
  seed?: number;
  latencyMs?: number | Record<string, number>;
  streamChunkDelayMs?: number;
  faults?: FaultConfig;
  apiKey?: string;
  models?: string[];
  arrayItems?: number;
}

export interface FaultConfig {
  rateLimit?: number;
  overloaded?: number;
  server?: number;
  reset?: number;
  streamError?: number;
  stall?: number;
  retryAfterSeconds?: number;
  onlyModels?: string[];
}

export type FaultKind =
  | 'rateLimit'
  | 'overloaded'
  | 'server'
  | 'reset'
  | 'streamError'
  | 'stall'
  | 'badRequest'
  | 'unauthorized'
  | 'notFound'
  | 'tooLarge';

export interface ScriptedFault {
  kind: FaultKind;
  match?: { model?: string; textIncludes?: string };
  times?: number;
  retryAfterSeconds?: number;
}

export interface RequestLogEntry {
  seq: number;
  at: string;
  method: string;
  path: string;
  model: string | null;
  stream: boolean;
  structured: boolean;
  system: string | null;
  lastUserText: string;
  status: number;
  outcome: 'ok' | 'fault' | 'error';
  fault: string | null;
  usage: { input_tokens: number; output_tokens: number } | null;
  responseText: string | null;
}

export type SimulatorConfigPatch = Partial<
  Pick<SimulatorOptions, 'latencyMs' | 'faults' | 'streamChunkDelayMs' | 'seed'>
>;

export interface Simulator {
  url: string;
  port: number;
  log: RequestLogEntry[];
  configure(patch: SimulatorConfigPatch): void;
  script(...faults: ScriptedFault[]): void;
  clearLog(): void;
  close(): Promise<void>;
}

export const DEFAULT_MODELS: readonly string[] = [
  'claude-sonnet-4-6',
  'claude-sonnet-4-5',
  'claude-sonnet-4-5-20250929',
  'claude-haiku-4-5',
  'claude-haiku-4-5-20251001',
  'claude-opus-4-6',
  'claude-opus-4-5',
];
