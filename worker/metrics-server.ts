/**
 * One Prometheus endpoint per worker (RENGA_METRICS_ADDRESS) with both renga's metrics (prom-client,
 * shared/metrics.ts) and the Temporal runtime's. The runtime's exporter lives in the Rust core and
 * cannot take extra series, so it listens on a private loopback port and each scrape appends its
 * text to renga's: both are the Prometheus text format, and their metric names never overlap.
 */
import http from 'node:http';
import { registry } from '../shared/metrics';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export class MetricsAddressError extends Error {
  override readonly name = 'MetricsAddressError';
}

export async function serveMetrics(address: string, coreAddress: string | undefined): Promise<MetricsServer> {
  const split = address.lastIndexOf(':');
  const host = address.slice(0, split);
  const port = Number(address.slice(split + 1));
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('renga worker metrics are at /metrics\n');
      return;
    }
    scrape(coreAddress).then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(`${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new MetricsAddressError(`cannot serve metrics on ${address} (RENGA_METRICS_ADDRESS)`, { cause: err })),
    );
    server.listen(port, host, resolve);
  });
  return {
    url: `http://${address}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function scrape(coreAddress: string | undefined): Promise<string> {
  const ours = await registry.metrics();
  if (!coreAddress) return ours;
  try {
    const res = await fetch(`http://${coreAddress}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const core = await res.text();
    return `${ours}\n${core}`;
  } catch (err) {
    // renga's own series are still worth a scrape when the runtime's exporter is not answering.
    return `${ours}\n# Temporal runtime metrics unavailable: ${err instanceof Error ? err.message : String(err)}\n`;
  }
}
