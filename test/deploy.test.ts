/**
 * The deployment files against the code: docker-compose.yml validates (when the compose plugin is
 * installed), the worker image's entry point is the built CLI, and every variable the compose
 * file hands renga exists in the zod config (and every worker variable is wired), so the two
 * cannot drift apart silently.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildProgram } from '../client/cli';
import { CODEC_SERVER_ENV_VARIABLES, WORKER_ENV_VARIABLES } from '../shared/config';
import { PRODUCTION_BUNDLE } from '../worker/worker';

const REPO = path.resolve(__dirname, '..');
const compose = readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8');
const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const envExample = readFileSync(path.join(REPO, '.env.example'), 'utf8');

/** The text of a top-level key (`x-…`) or a service, up to the next key at the same indent. */
function block(name: string, indent: string): string {
  const lines = compose.split('\n');
  const start = lines.findIndex((l) => l === `${indent}${name}:` || l.startsWith(`${indent}${name}: `));
  if (start < 0) throw new Error(`docker-compose.yml has no ${name}`);
  const end = lines.findIndex(
    (l, i) => i > start && l.trim() !== '' && !l.startsWith(`${indent} `) && !l.startsWith('#'),
  );
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}
const envKeys = (text: string) =>
  [...text.matchAll(/^\s+((?:RENGA|TEMPORAL|ANTHROPIC)_[A-Z0-9_]+):/gm)].map((m) => m[1]!);

const common = envKeys(block('x-renga-common', ''));
const workerEnv = [...common, ...envKeys(block('worker', '  '))];
const codecEnv = [...common, ...envKeys(block('codec-server', '  '))];

test('every worker variable in compose is one the worker config schema knows, and every schema variable is wired', () => {
  expect(workerEnv.filter((v) => !WORKER_ENV_VARIABLES.includes(v))).toEqual([]);
  expect(WORKER_ENV_VARIABLES.filter((v) => !workerEnv.includes(v))).toEqual([]);
});

test('every codec-server variable in compose is in its schema; the token is required', () => {
  expect(codecEnv.filter((v) => !CODEC_SERVER_ENV_VARIABLES.includes(v))).toEqual([]);
  expect(block('codec-server', '  ')).toMatch(/RENGA_CODEC_TOKEN: \$\{RENGA_CODEC_TOKEN:\?/);
});

test('every ${VAR} the compose file reads is documented in .env.example', () => {
  const used = new Set([...compose.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
  const documented = new Set([...envExample.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!));
  expect([...used].filter((v) => !documented.has(v))).toEqual([]);
});

test('the image runs the built CLI as a non-root user, and the commands compose uses exist', () => {
  expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/client\/cli\.js"\]$/m);
  expect(dockerfile).toMatch(/^USER node$/m);
  expect(dockerfile).toMatch(/^RUN npm run build/m);
  // The entry point is what package.json's bin points at, and `npm run build` writes the bundle there.
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  expect(pkg.bin.renga).toBe('dist/client/cli.js');
  expect(path.relative(REPO, PRODUCTION_BUNDLE.replace(`${path.sep}worker${path.sep}..`, ''))).toMatch(
    /workflow-bundle\.js$/,
  );
  const commands = buildProgram({ setExit: () => undefined }).commands.map((c) => c.name());
  for (const m of compose.matchAll(/command: \["([a-z-]+)"\]/g)) expect(commands).toContain(m[1]);
  // Every directory the build compiles is copied into the build stage.
  const tsBuild = JSON.parse(readFileSync(path.join(REPO, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  for (const dir of tsBuild.include) expect(dockerfile).toContain(`COPY ${dir} ./${dir}`);
});

/**
 * Compose v2 (`docker compose`) where the plugin exists, else Debian's standalone `docker-compose`;
 * no engine is needed for `config`. Without either the test is skipped, and says so.
 */
function composeCommand(): string[] | null {
  if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0) return ['docker-compose'];
  return null;
}
const composeCmd = composeCommand();
if (!composeCmd)
  console.warn(
    'SKIPPED compose validation: neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)',
  );

(composeCmd ? test : test.skip)(`${composeCmd?.join(' ') ?? 'docker compose'} config validates the file`, () => {
  const [cmd, ...pre] = composeCmd! as [string, ...string[]];
  const r = spawnSync(cmd, [...pre, '-f', 'docker-compose.yml', '--env-file', '.env.example', 'config', '--quiet'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(existsSync(path.join(REPO, '.dockerignore'))).toBe(true);
});
