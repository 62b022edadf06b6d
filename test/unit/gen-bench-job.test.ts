import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderBenchJob } from '../../src/gen/bench-job.js';
import { validateK8sManifest } from '../../src/gen/check-k8s.js';
import { runGen } from '../../src/gen/gen-command.js';
import { resolveGenOptions } from '../../src/gen/options.js';
import { resolveClusterConfig } from '../../src/config/settings/resolve.js';

/** `gen bench`: the Indexed Job whose pods each run a bench, schema-checked like gen k8s. */
const sink = () => {
  let text = '';
  return {
    stream: { write: (chunk: string) => ((text += chunk), true) } as NodeJS.WritableStream,
    text: () => text,
  };
};

interface JobShape {
  kind: string;
  spec: {
    completionMode: string;
    completions: number;
    parallelism: number;
    template: { spec: { containers: { image: string; args: string[] }[] } };
  };
}

describe('gen bench', () => {
  it('renders an Indexed Job of N pods that each run bench --json, valid for Kubernetes 1.27', async () => {
    const options = resolveGenOptions({ out: '-', flags: { image: 'ghcr.io/acme/mcp:1.0' }, env: {} });
    const file = renderBenchJob(options, { pods: 4, benchArgs: ['--clients', '100', '--duration', '1m'] });
    expect(file).toMatchObject({ path: 'bench-job.yaml', kind: 'k8s' });
    expect(await validateK8sManifest(file.content)).toEqual([]);
    const job = parse(file.content) as JobShape;
    expect(job.kind).toBe('Job');
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 4 });
    const [container] = job.spec.template.spec.containers;
    expect(container?.image).toBe('ghcr.io/acme/mcp:1.0');
    expect(container?.args).toEqual([
      'bench',
      'http://mcp-scale-gateway:8080/mcp',
      '--seed',
      '$(BENCH_INDEX)',
      '--clients',
      '100',
      '--duration',
      '1m',
      '--json',
    ]);
    expect(file.content).toMatch(/mcp-scale bench merge mcp-scale-bench-\*\.json/);
  });

  it('checks the Job with --check, and refuses what does not belong, in one line', async () => {
    const config = resolveClusterConfig({ command: 'gen', env: {} });
    const out = sink();
    const err = sink();
    const result = await runGen(
      'bench',
      { config, check: true, bench: { pods: '2', url: 'http://gw:8080/mcp', flags: ['--rate', '50/s'] } },
      { stdout: out.stream, stderr: err.stream },
    );
    // The schema, and the restricted Pod Security rules every generated pod meets.
    expect(result.checks?.map((c) => [c.check, c.status])).toEqual([
      ['k8s schema', 'passed'],
      ['pod security (restricted)', 'passed'],
    ]);
    expect(out.text()).toContain('- http://gw:8080/mcp');
    const io = { stdout: sink().stream, stderr: sink().stream };
    await expect(runGen('nginx', { config, bench: { pods: '2' } }, io)).rejects.toThrow(
      /--pods goes with gen bench/,
    );
    await expect(runGen('k8s', { config, bench: { flags: ['--clients', '5'] } }, io)).rejects.toThrow(
      /after --/,
    );
    await expect(runGen('bench', { config, bench: { flags: ['--out', 'x.json'] } }, io)).rejects.toThrow(
      /drop --out/,
    );
    await expect(runGen('bench', { config, bench: { pods: '0' } }, io)).rejects.toThrow(/invalid --pods 0/);
    // A target URL among the bench flags would bench something else than --bench-url says.
    await expect(runGen('bench', { config, bench: { flags: ['http://x/mcp'] } }, io)).rejects.toThrow(
      /--bench-url/,
    );
  });
});
