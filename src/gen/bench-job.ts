import { stringify } from 'yaml';
import { UserError } from '../errors.js';
import { GATEWAY_PORT } from './proxy-model.js';
import type { GenOptions, GeneratedFile } from './types.js';

/**
 * `gen bench`: a Kubernetes Indexed Job whose N pods each run `mcp-scale
 * bench` against the cluster and print their report (`--json`, the JSON
 * `--out` writes) on stdout. Kubernetes is the distributed engine: it
 * places and starts the pods; `kubectl logs` collects the reports and
 * `mcp-scale bench merge` adds them up exactly (docs/bench.md).
 */
export interface BenchJobInput {
  /** Pods (Job completions, all running in parallel). */
  pods: number;
  /** The bench flags each pod runs, e.g. ['--clients', '100', '--duration', '2m']. */
  benchArgs: string[];
  /** What to bench; default the gateway Service `gen k8s` renders. */
  url?: string;
}

export const DEFAULT_BENCH_ARGS = ['--clients', '100', '--ramp-up', '30s', '--duration', '2m'];
export const MAX_BENCH_PODS = 500;

/** Flags a pod sets itself: the report goes to stdout, and there is no cluster to spawn. */
const OWNED_FLAGS = ['--json', '--out', '--html', '--spawn', '--ready-file', '--procs'];

export function renderBenchJob(options: GenOptions, input: BenchJobInput): GeneratedFile {
  if (!Number.isInteger(input.pods) || input.pods < 1 || input.pods > MAX_BENCH_PODS)
    throw new UserError(`invalid --pods ${input.pods}: use 1 to ${MAX_BENCH_PODS}`);
  for (const arg of input.benchArgs) {
    const flag = arg.split('=')[0] ?? arg;
    if (OWNED_FLAGS.includes(flag))
      throw new UserError(
        `gen bench: drop ${flag} from the bench flags; each pod prints its report with --json`,
      );
    if (!arg.startsWith('-') && /^https?:\/\//.test(arg))
      throw new UserError('gen bench: give the target with --bench-url, not among the bench flags');
  }
  const url = input.url ?? `http://mcp-scale-gateway:${GATEWAY_PORT}${options.path}`;
  const labels = { 'app.kubernetes.io/name': 'mcp-scale', 'app.kubernetes.io/component': 'bench' };
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'mcp-scale-bench', labels },
    spec: {
      completionMode: 'Indexed',
      completions: input.pods,
      parallelism: input.pods,
      // A failed bench is a result to read, not something to retry into a second load.
      backoffLimit: 0,
      ttlSecondsAfterFinished: 86_400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          // Pod Security "restricted", like every pod gen writes (gen --check holds it to it).
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'bench',
              image: options.image,
              // Each pod its own seed, so the pods' users make different choices.
              args: ['bench', url, '--seed', '$(BENCH_INDEX)', ...input.benchArgs, '--json'],
              env: [
                {
                  name: 'BENCH_INDEX',
                  valueFrom: {
                    fieldRef: {
                      fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
                    },
                  },
                },
              ],
              resources: { requests: { cpu: '1', memory: '512Mi' }, limits: { memory: '1Gi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          // The root filesystem is read-only: temp files go here.
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
  const header = [
    `# mcp-scale bench as a Kubernetes Indexed Job: ${input.pods} pod(s), each running`,
    `#   mcp-scale ${job.spec.template.spec.containers[0]?.args.join(' ')}`,
    '# Collect and merge the reports (each pod prints its report JSON on stdout):',
    '#   kubectl wait --for=condition=complete job/mcp-scale-bench --timeout=1h',
    '#   for pod in $(kubectl get pods -l job-name=mcp-scale-bench -o name); do',
    '#     kubectl logs "$pod" > "$(basename "$pod").json"; done',
    '#   mcp-scale bench merge mcp-scale-bench-*.json --html bench.html --threshold "achieved>95%"',
  ].join('\n');
  return {
    path: 'bench-job.yaml',
    kind: 'k8s',
    content: `${header}\n${stringify(job, { lineWidth: 0, aliasDuplicateObjects: false })}`,
  };
}
