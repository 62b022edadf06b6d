import type { ClusterConfig } from '../config/cluster-config.js';
import { DEFAULT_URL } from './options.js';
import { readReadyFile } from './ready-file.js';
import type { BenchTarget, ReadyInfo } from './types.js';

/**
 * Where a bench points: a URL, the cluster a `--ready-file` describes, or
 * (`--spawn`) a cluster started for this run and stopped after it.
 *
 * The cluster starter is a parameter, not an import, so the engine does
 * not depend on the supervisor: the CLI passes `startCluster` from
 * src/cluster, tests pass their own.
 */
export interface StartedCluster {
  url: string;
  readyInfo: ReadyInfo;
  /** The cluster as it is now (a restarted process has a new pid). */
  currentReadyInfo?: () => ReadyInfo;
  close(): Promise<void>;
}

/** What --spawn hands the starter: serve's resolved settings. */
export interface SpawnRequest {
  config: ClusterConfig;
}

export type ClusterStarter = (request: SpawnRequest) => Promise<StartedCluster>;

export interface TargetRequest {
  url?: string;
  readyFile?: string;
  spawn?: SpawnRequest;
}

export async function withBenchTarget<T>(
  request: TargetRequest,
  startCluster: ClusterStarter | undefined,
  run: (target: BenchTarget) => Promise<T>,
): Promise<T> {
  if (request.spawn) {
    if (!startCluster) throw new Error('bench --spawn needs a cluster starter');
    const cluster = await startCluster(request.spawn);
    try {
      return await run({
        url: cluster.url,
        readyInfo: cluster.readyInfo,
        ...(cluster.currentReadyInfo ? { currentReadyInfo: cluster.currentReadyInfo } : {}),
      });
    } finally {
      await cluster.close();
    }
  }
  if (request.readyFile) {
    const file = request.readyFile;
    const readyInfo = readReadyFile(file);
    return run({ url: request.url ?? readyInfo.url, readyInfo, currentReadyInfo: () => readReadyFile(file) });
  }
  return run({ url: request.url ?? DEFAULT_URL });
}
