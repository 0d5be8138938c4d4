import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { isTemporalReachable, startDevServer, type DevServer } from '../temporal/dev-server';

// A real `temporal server start-dev` with a SQLite file: the restart guarantee in docs/architecture.md
// ("stop and restart the dev server, it keeps its database file") rests on this behaving.
describe('temporal dev server', () => {
  const NAMESPACE = 'renga-test';
  const SEARCH_ATTRIBUTE = 'RengaTestKind';
  // Created through the API, not by a start flag, so only the database can bring it back.
  const RUNTIME_NAMESPACE = 'renga-test-registered';
  const KEYWORD = encodeSearchAttributeIndexedValueType('KEYWORD');
  let tmpDir: string;
  let server: DevServer | undefined;
  const connections: Connection[] = [];

  const connect = async (): Promise<Connection> => {
    const connection = await Connection.connect({ address: server!.address });
    connections.push(connection);
    return connection;
  };

  beforeAll(async () => {
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'renga-devserver-'));
    server = await startDevServer({
      dbFile: path.join(tmpDir, 'temporal.sqlite'),
      namespace: NAMESPACE,
      uiPort: null,
      searchAttributes: { [SEARCH_ATTRIBUTE]: 'Keyword' },
    });
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
    await server?.stop();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  });

  it('serves the namespace and the registered search attribute', async () => {
    const connection = await connect();
    const ns = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(ns.namespaceInfo?.name).toBe(NAMESPACE);

    const attrs = await connection.operatorService.listSearchAttributes({ namespace: NAMESPACE });
    expect(attrs.customAttributes[SEARCH_ATTRIBUTE]).toBe(KEYWORD);
    expect(fs.existsSync(server!.dbFile!)).toBe(true);

    await connection.workflowService.registerNamespace({
      namespace: RUNTIME_NAMESPACE,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
  });

  it('restarts on the same address and keeps what the database holds', async () => {
    const before = server!.pid;
    await server!.restart();
    expect(server!.pid).not.toBe(before);
    expect(await isTemporalReachable(server!.address)).toBe(true);

    const connection = await connect();
    const ns = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(ns.namespaceInfo?.name).toBe(NAMESPACE);
    const attrs = await connection.operatorService.listSearchAttributes({ namespace: NAMESPACE });
    expect(attrs.customAttributes[SEARCH_ATTRIBUTE]).toBe(KEYWORD);
    const registered = await connection.workflowService.describeNamespace({ namespace: RUNTIME_NAMESPACE });
    expect(registered.namespaceInfo?.name).toBe(RUNTIME_NAMESPACE);
  });

  it('comes back after a crash (SIGKILL) as well', async () => {
    await server!.kill();
    await server!.restart();
    const connection = await connect();
    const registered = await connection.workflowService.describeNamespace({ namespace: RUNTIME_NAMESPACE });
    expect(registered.namespaceInfo?.name).toBe(RUNTIME_NAMESPACE);
  });

  it('is unreachable once stopped', async () => {
    await server!.stop();
    expect(await isTemporalReachable(server!.address, 2_000)).toBe(false);
  });
});
