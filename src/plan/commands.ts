import type { PlanCommand, ReasonLine, Recommendation } from './types.js';

/**
 * The `mcp-scale gen` and `mcp-scale serve` command lines that realise a
 * recommendation. Only flags those commands accept are used; what a plan
 * wants but no flag expresses is said in the returned notes instead.
 */

/** `--instances` accepts 1-64 (validateClusterConfig). */
export const MAX_INSTANCES_FLAG = 64;
/** Workers for the local rehearsal of a Kubernetes plan: enough to show spreading, few enough for a laptop. */
export const LOCAL_REHEARSAL_WORKERS = 4;
/** `gen --gateways` accepts 1-16 (validateGenOptions). */
export const MAX_GATEWAYS_FLAG = 16;
/** Gateways for the local rehearsal of a Kubernetes plan: two show the shared entry tier. */
export const LOCAL_REHEARSAL_GATEWAYS = 2;
/** A placeholder address for a Redis Cluster the user provides. */
export const REDIS_CLUSTER_PLACEHOLDER = 'redis-cluster://redis-cluster:6379';

export function buildCommands(rec: Recommendation): { commands: PlanCommand[]; notes: ReasonLine[] } {
  const commands: PlanCommand[] = [];
  const notes: ReasonLine[] = [];
  const gatewaysFlag = Math.min(rec.gateways, MAX_GATEWAYS_FLAG);
  const topology = ['--gateways', String(gatewaysFlag), '--affinity', rec.affinity];
  if (gatewaysFlag < rec.gateways) {
    notes.push({
      source: 'note',
      text:
        `gen --gateways stops at ${MAX_GATEWAYS_FLAG}; scale the gateways to ${rec.gateways} after applying ` +
        `(kubectl scale deployment mcp-scale-gateway --replicas ${rec.gateways}).`,
    });
  }
  const limits = [
    '--rate-limit',
    rec.rateLimit,
    ...(rec.ipRateLimit ? ['--ip-rate-limit', rec.ipRateLimit] : []),
  ];
  const genRedis =
    rec.redis === 'cluster'
      ? ['--redis', REDIS_CLUSTER_PLACEHOLDER]
      : rec.redis === 'replicated'
        ? ['--redis', 'ha']
        : [];
  const serveRedis = rec.redis === 'none' ? 'memory' : rec.redis === 'replicated' ? 'ha' : 'auto';
  if (rec.redis === 'cluster') {
    notes.push({
      source: 'note',
      text: `replace ${REDIS_CLUSTER_PLACEHOLDER} with the address of your Redis Cluster (an operator or a managed service).`,
    });
  }

  if (rec.platform === 'kubernetes') {
    const scaling = rec.autoscaling;
    const instances = Math.min(rec.workers, MAX_INSTANCES_FLAG);
    if (instances < rec.workers) {
      notes.push({
        source: 'note',
        text: `--instances stops at ${MAX_INSTANCES_FLAG}; the initial replicas are ${instances} and the HPA bounds carry the rest.`,
      });
    }
    commands.push(
      command('Render Kubernetes manifests with the autoscaler bounds', [
        'gen',
        'k8s',
        '--out',
        'deploy/k8s',
        '--instances',
        String(instances),
        ...topology,
        ...genRedis,
        ...limits,
        ...(scaling
          ? [
              '--min-replicas',
              String(scaling.minReplicas),
              '--max-replicas',
              String(scaling.maxReplicas),
              '--cpu-target',
              String(scaling.cpuTargetPercent),
            ]
          : []),
      ]),
    );
    if (rec.redis === 'replicated') {
      notes.push({
        source: 'note',
        text:
          'gen --redis ha deploys a Redis primary, a replica and three sentinels; for a managed Redis with failover ' +
          'pass its URL instead (redis-sentinel://… or its primary endpoint; docs/high-availability.md).',
      });
    }
    const rehearsal = Math.min(rec.workers, LOCAL_REHEARSAL_WORKERS);
    const rehearsalGateways = Math.min(rec.gateways, LOCAL_REHEARSAL_GATEWAYS);
    commands.push(
      command(
        `Rehearse the same settings on this machine with ${rehearsal} workers (${serveRedis === 'ha' ? 'a local primary, replica and 3 sentinels' : 'one local Redis'})`,
        [
          'serve',
          '--instances',
          String(rehearsal),
          ...(rehearsalGateways > 1 ? ['--gateways', String(rehearsalGateways)] : []),
          '--redis',
          serveRedis,
          // Affinity is the balancer's: without a gateway tier the rehearsal needs one.
          ...(rec.affinity === 'gateway' ? [] : ['--lb', 'nginx']),
          '--affinity',
          rec.affinity,
          ...limits,
        ],
      ),
    );
  } else {
    const instances = ['--instances', String(rec.workers)];
    const proxy =
      rec.loadBalancer === 'nginx' || rec.loadBalancer === 'haproxy' ? rec.loadBalancer : undefined;
    if (rec.platform === 'processes') {
      commands.push(
        command('Package the single instance as a container', [
          'gen',
          'docker',
          '--out',
          'deploy/docker',
          ...instances,
          ...topology,
        ]),
      );
    } else {
      commands.push(
        command('Render Docker Compose files for the cluster', [
          'gen',
          'compose',
          '--out',
          'deploy/compose',
          ...instances,
          ...topology,
          ...genRedis,
          ...limits,
        ]),
      );
    }
    if (proxy) {
      commands.push(
        command(`Render the ${proxy} config for the load balancer in front of the gateways`, [
          'gen',
          proxy,
          '--out',
          `deploy/${proxy}`,
          ...instances,
          ...topology,
        ]),
      );
    }
    // Several gateways share sessions through Redis: memory mode runs one.
    const serveGateways = rec.redis === 'none' ? 1 : gatewaysFlag;
    commands.push(
      command('Run it on this machine', [
        'serve',
        ...instances,
        ...(serveGateways > 1 ? ['--gateways', String(serveGateways)] : []),
        '--redis',
        serveRedis,
        ...(proxy ? ['--lb', proxy] : []),
        '--affinity',
        rec.affinity,
        ...limits,
      ]),
    );
    if (rec.gateways > 1 && serveGateways === 1) {
      notes.push({
        source: 'note',
        text: `serve runs one gateway in memory mode (several would not share sessions); the ${rec.gateways} gateways are in the generated files.`,
      });
    }
    if (rec.redis === 'replicated') {
      notes.push({
        source: 'note',
        text:
          'serve --redis ha starts a private primary, replica and three sentinels; in production use the generated ' +
          'ones or a managed Redis with failover (docs/high-availability.md).',
      });
    } else if (rec.redis === 'cluster') {
      notes.push({
        source: 'note',
        text: 'serve --redis auto starts one local redis-server, not a cluster: on this machine it only rehearses.',
      });
    }
  }
  return { commands, notes };
}

function command(purpose: string, args: string[]): PlanCommand {
  const argv = ['mcp-scale', ...args];
  return { purpose, argv, line: argv.map(shellQuote).join(' ') };
}

function shellQuote(arg: string): string {
  return /^[\w./:=,@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
