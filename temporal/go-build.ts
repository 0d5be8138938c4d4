/**
 * `go install` of a pinned Go program (the Temporal CLI, Jaeger), told as one progress line. The first build compiles a few
 * hundred packages over several minutes; their names belong in a log file (kept for when the build
 * fails), not in the terminal of someone trying renga for the first time.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

/** A line that is rewritten in place on a terminal; elsewhere only its first and last text are printed. */
export interface ProgressLine {
  update(text: string): void;
  done(text: string): void;
}

/** How often a terminal line is redrawn at most: the build's output is faster than anyone reads. */
const REDRAW_MS = 250;

/** The part of a terminal stream a progress line uses. */
export type LineStream = Pick<NodeJS.WriteStream, 'write' | 'isTTY' | 'columns'>;

export function progressLine(stream: LineStream = process.stderr, prefix = ''): ProgressLine {
  let shown = false;
  let lastDraw = 0;
  return {
    update(text) {
      if (stream.isTTY) {
        const now = Date.now();
        if (shown && now - lastDraw < REDRAW_MS) return;
        lastDraw = now;
        // Cut to the terminal's width so the line never wraps (a wrapped line cannot be rewritten).
        const width = Math.max(20, (stream.columns || 100) - 1);
        stream.write(`\r\x1b[2K${(prefix + text).slice(0, width)}`);
      } else if (!shown) {
        stream.write(`${prefix}${text}\n`);
      }
      shown = true;
    },
    done(text) {
      stream.write(stream.isTTY ? `\r\x1b[2K${prefix}${text}\n` : `${prefix}${text}\n`);
    },
  };
}

export interface GoInstallOptions {
  /** `module/path@version`. */
  target: string;
  cwd: string;
  /** GOBIN: where the binary lands. */
  binDir: string;
  /** Every line `go` prints, kept whether the build succeeds or not. */
  logFile: string;
  progress: ProgressLine;
  /** What the line calls the thing being built. */
  label: string;
  /** The go command; tests pass a stand-in. */
  go?: string;
  /**
   * The module `target` belongs to, when its go.mod has `replace` directives: `go install pkg@version`
   * refuses those, so the module is downloaded and the program built inside it, where they apply.
   */
  module?: string;
}

/** Go build failed; the message carries the last lines, the log file has them all. */
export class GoBuildFailedError extends Error {
  override readonly name = 'GoBuildFailedError';
}

const TAIL_LINES = 20;

export async function goInstall(opts: GoInstallOptions): Promise<void> {
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOBIN: opts.binDir };
  let cwd = opts.cwd;
  let args = ['install', '-v', opts.target];
  if (opts.module) {
    const at = opts.target.lastIndexOf('@');
    const pkg = opts.target.slice(0, at);
    const version = opts.target.slice(at + 1);
    cwd = await moduleDir(opts.go ?? 'go', `${opts.module}@${version}`, opts.cwd, env);
    // Inside the module its own go.mod (with its replaces) and go.sum decide every dependency.
    const name = path.posix.basename(pkg);
    args = [
      'build',
      '-v',
      '-trimpath',
      '-o',
      path.join(opts.binDir, name),
      `./${path.posix.relative(opts.module, pkg)}`,
    ];
  }
  return runWithProgress(opts, args, cwd, env);
}

/** Downloads a module version into the module cache and returns its directory there. */
function moduleDir(go: string, target: string, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, ['mod', 'download', '-json', target], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      let dir: unknown;
      try {
        dir = (JSON.parse(out) as { Dir?: unknown }).Dir;
      } catch {
        dir = undefined;
      }
      if (code === 0 && typeof dir === 'string') resolve(dir);
      else reject(new GoBuildFailedError(`go mod download ${target} exited with code ${code}:\n${err.slice(-2000)}`));
    });
  });
}

async function runWithProgress(opts: GoInstallOptions, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const started = Date.now();
  const log = fs.createWriteStream(opts.logFile);
  const seconds = () => Math.round((Date.now() - started) / 1000);
  let packages = 0;
  const tail: string[] = [];
  const status = () =>
    `building ${opts.label} with Go (first run only; a few minutes) · ${packages} packages · ${seconds()} s · log ${opts.logFile}`;
  opts.progress.update(status());
  const ticker = setInterval(() => opts.progress.update(status()), 1_000);
  try {
    await new Promise<void>((resolve, reject) => {
      // GOTOOLCHAIN=local (in env): never let go.mod's toolchain line trigger a toolchain download.
      const child = spawn(opts.go ?? 'go', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const onLine = (line: string): void => {
        log.write(`${line}\n`);
        // `go install -v` names each package as it compiles it; "go: downloading …" lines are not packages.
        if (!line.startsWith('go: ')) packages += 1;
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        opts.progress.update(status());
      };
      readline.createInterface({ input: child.stdout }).on('line', onLine);
      readline.createInterface({ input: child.stderr }).on('line', onLine);
      child.once('error', reject);
      child.once('close', (code, signal) => {
        if (code === 0) resolve();
        else
          reject(
            new GoBuildFailedError(
              `go ${args[0]} ${opts.target} exited with ${signal ?? `code ${code}`} (full log: ${opts.logFile}):\n${tail.join('\n')}`,
            ),
          );
      });
    });
    opts.progress.done(`built ${opts.label} in ${seconds()} s (${packages} packages; log ${opts.logFile})`);
  } catch (err) {
    opts.progress.done(`building ${opts.label} failed after ${seconds()} s; log ${opts.logFile}`);
    throw err;
  } finally {
    clearInterval(ticker);
    await new Promise<void>((resolve) => log.end(resolve));
  }
}
