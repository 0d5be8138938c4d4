import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { progressLine, type ProgressLine } from './go-build';
import {
  buildGoTool,
  errorMessage,
  findGoTool,
  goToolPaths,
  hasGo,
  isExecutable,
  type BinaryLog,
  type GoTool,
} from './go-tool';

export { findRepoRoot, type BinaryLog } from './go-tool';

/**
 * The CLI release we build from source. Later tags carry a `replace` directive in go.mod, which
 * `go install pkg@version` refuses, so this stays pinned until that changes upstream.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_BIN_ENV = 'RENGA_TEMPORAL_BIN';
const TEMPORAL_CLI: GoTool = {
  name: 'temporal',
  label: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`,
  pkg: TEMPORAL_CLI_MODULE,
  version: TEMPORAL_CLI_VERSION,
};

export interface EnsureTemporalBinaryOptions {
  log?: BinaryLog;
  /** The one line a first Go build shows (default: stderr); its full output goes to `.temporal/go-build.log`. */
  progress?: ProgressLine;
}

/** Every way of obtaining the CLI failed; `attempts` says why, one entry per source tried. */
export class TemporalBinaryUnavailableError extends Error {
  override readonly name = 'TemporalBinaryUnavailableError';
  constructor(readonly attempts: string[]) {
    super(
      `No Temporal CLI could be found, built or downloaded:\n  - ${attempts.join('\n  - ')}\n` +
        `Install Go (then it is built once into .temporal/bin), put \`temporal\` on PATH, ` +
        `or set ${TEMPORAL_BIN_ENV} to an existing binary.`,
    );
  }
}

const defaultLog: BinaryLog = (msg) => process.stderr.write(`[renga temporal] ${msg}\n`);

/**
 * Returns the absolute path of a runnable `temporal` CLI: `$RENGA_TEMPORAL_BIN`, then PATH, then
 * the project-local build in `.temporal/bin`, then a Go build of the pinned release, then the
 * download the Temporal TS testing package performs itself.
 */
export async function ensureTemporalBinary(opts: EnsureTemporalBinaryOptions = {}): Promise<string> {
  const log = opts.log ?? defaultLog;

  const found = findGoTool(TEMPORAL_CLI, TEMPORAL_BIN_ENV);
  if (found) return found;

  const attempts: string[] = [];
  if (await hasGo()) {
    try {
      return await buildGoTool(TEMPORAL_CLI, log, opts.progress ?? progressLine(process.stderr, '[renga temporal] '));
    } catch (err) {
      attempts.push(`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}: ${errorMessage(err)}`);
      log(`Go build failed (${errorMessage(err)}); trying the Temporal SDK download instead.`);
    }
  } else {
    attempts.push('`go` is not on PATH, so the pinned CLI cannot be built from source');
  }

  try {
    return await downloadViaTestingPackage(path.join(goToolPaths(TEMPORAL_CLI).root, '.temporal', 'download'), log);
  } catch (err) {
    attempts.push(`download through @temporalio/testing: ${errorMessage(err)}`);
  }
  throw new TemporalBinaryUnavailableError(attempts);
}

/**
 * Without Go, let the SDK's native core download the CLI the way `TestWorkflowEnvironment.createLocal`
 * does by default. Core caches it at `<downloadDir>/temporal-sdk-typescript-<sdkVersion>` (with its own
 * cross-process `.downloading` lock), so after one createLocal we know the path and never need the SDK
 * to run the server: the 5 s start limit that made us spawn the server ourselves is irrelevant here.
 */
async function downloadViaTestingPackage(downloadDir: string, log: BinaryLog): Promise<string> {
  const sdkVersion = testingPackageVersion();
  const fileName = `temporal-sdk-typescript-${sdkVersion}${process.platform === 'win32' ? '.exe' : ''}`;
  const ours = path.join(downloadDir, fileName);
  if (isExecutable(ours)) return ours;
  // The SDK's default cache; a developer who used createLocal before already has it.
  const sdkDefault = path.join(os.tmpdir(), fileName);
  if (isExecutable(sdkDefault)) return sdkDefault;

  fs.mkdirSync(downloadDir, { recursive: true });
  log(`Go is unavailable: downloading the Temporal CLI through @temporalio/testing into ${downloadDir}.`);
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  let startError: unknown;
  try {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download', downloadDir, ttl: '3650d' },
        ui: false,
      },
    });
    await env.teardown();
  } catch (err) {
    // The download can succeed while the SDK's 5 s server start does not; the file is what we want.
    startError = err;
  }
  if (isExecutable(ours)) return ours;
  throw new Error(`expected ${ours} after the SDK download` + (startError ? `: ${errorMessage(startError)}` : ''));
}

function testingPackageVersion(): string {
  const pkgJson = require.resolve('@temporalio/testing/package.json');
  const parsed: unknown = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
  if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') {
    return parsed.version;
  }
  throw new Error(`${pkgJson} has no version`);
}
