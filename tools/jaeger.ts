/**
 * Jaeger (the OTel-collector-based v2 binary) for the tracing test: `$RENGA_JAEGER_BIN`, PATH, or a
 * Go build of the pinned release cached in `.jaeger/bin`. `npx tsx tools/jaeger.ts` builds it up
 * front (CI does, before the tests) and prints its path.
 */
import { progressLine } from '../temporal/go-build';
import { buildGoTool, errorMessage, findGoTool, hasGo, type BinaryLog, type GoTool } from '../temporal/go-tool';

export const JAEGER_BIN_ENV = 'RENGA_JAEGER_BIN';
/** Its go.mod replaces a dependency, so it is built inside the downloaded module (temporal/go-build.ts). */
export const JAEGER: GoTool = {
  name: 'jaeger',
  label: 'Jaeger v1.76.0 (v2 binary)',
  pkg: 'github.com/jaegertracing/jaeger/cmd/jaeger',
  module: 'github.com/jaegertracing/jaeger',
  version: 'v1.76.0',
};

export class JaegerUnavailableError extends Error {
  override readonly name = 'JaegerUnavailableError';
}

export async function ensureJaegerBinary(
  log: BinaryLog = (msg) => process.stderr.write(`[renga jaeger] ${msg}\n`),
): Promise<string> {
  const found = findGoTool(JAEGER, JAEGER_BIN_ENV);
  if (found) return found;
  if (!(await hasGo())) {
    throw new JaegerUnavailableError(`Jaeger is not built and \`go\` is not on PATH; set ${JAEGER_BIN_ENV}`);
  }
  try {
    return await buildGoTool(JAEGER, log, progressLine(process.stderr, '[renga jaeger] '));
  } catch (err) {
    throw new JaegerUnavailableError(`building Jaeger ${JAEGER.version} failed: ${errorMessage(err)}`, { cause: err });
  }
}

if (require.main === module) {
  ensureJaegerBinary().then(
    (bin) => process.stdout.write(`${bin}\n`),
    (err: unknown) => {
      process.stderr.write(`${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
