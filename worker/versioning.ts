/**
 * Worker Versioning (Temporal Worker Deployments): a worker that names a deployment serves only the
 * workflows of its own build. Jobs are PINNED: a job runs to its end on the build it started on, so a
 * job that outlives a deploy never replays its history on changed workflow code, and new jobs go to
 * the deployment's current version. See docs/architecture.md, "Upgrades".
 */
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The package version: the default build id, so each release is its own deployment version. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Off unless a deployment name is configured: versioned workers need an operator to set the current version. */
export function deploymentOptions(cfg: {
  RENGA_DEPLOYMENT_NAME?: string;
  RENGA_BUILD_ID?: string;
}): WorkerDeploymentOptions | undefined {
  if (!cfg.RENGA_DEPLOYMENT_NAME) return undefined;
  return {
    version: { deploymentName: cfg.RENGA_DEPLOYMENT_NAME, buildId: cfg.RENGA_BUILD_ID ?? packageVersion() },
    useWorkerVersioning: true,
    defaultVersioningBehavior: 'PINNED',
  };
}
