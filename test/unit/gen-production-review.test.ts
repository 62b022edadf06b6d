import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkPodSecurity } from '../../src/gen/pod-security.js';
import { renderTarget } from '../../src/gen/render.js';
import type { GeneratedFile } from '../../src/gen/types.js';
import { genCases } from '../helpers/lb-gen-cases.js';

/**
 * The production review, as a list: each property an SRE review asked of
 * the generated files (issue 20), checked on the golden cases. A template
 * change that drops one fails here by name, whatever the golden diff looks
 * like.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML, read by path
type Doc = any;

function objects(file: GeneratedFile | undefined): Doc[] {
  if (!file) return [];
  return [parseAllDocuments(file.content)]
    .flat()
    .map((d) => d.toJS())
    .filter(Boolean);
}

function rendered(name: string): GeneratedFile[] {
  const found = genCases().find((c) => c.name === name);
  if (!found) throw new Error(`no case ${name}`);
  return renderTarget(found.target, found.options);
}

const file = (files: GeneratedFile[], path: string) => files.find((f) => f.path === path);
const k8s = (files: GeneratedFile[]) => files.filter((f) => f.kind === 'k8s').flatMap((f) => objects(f));
const workloads = (files: GeneratedFile[]) =>
  k8s(files).filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');

const all = rendered('gateway-defaults');
const direct = rendered('session-tls');
const gatewayApi = rendered('gateway-api-k8s');
const nginx = file(all, 'nginx.conf')!.content;
const haproxy = file(all, 'haproxy.cfg')!.content;

const PROPERTIES: [string, () => void][] = [
  [
    'proxies overwrite X-Forwarded-For, X-Real-IP and Forwarded (nginx, HAProxy)',
    () => {
      expect(nginx).toContain('proxy_set_header X-Forwarded-For $remote_addr;');
      expect(nginx).not.toContain('$proxy_add_x_forwarded_for');
      expect(nginx).toContain('proxy_set_header Forwarded "";');
      expect(haproxy).toContain('http-request set-header X-Forwarded-For %[src]');
      expect(haproxy).toContain('http-request del-header Forwarded');
      expect(haproxy).not.toMatch(/option forwardfor/);
    },
  ],
  ['session ids stay out of access logs', () => expect(nginx).not.toMatch(/log_format[^;]*mcp_session_id/s)],
  [
    'limit_conn applies to SSE GET streams only, with a high default',
    () => {
      expect(nginx).toMatch(
        /map \$request_method \$mcp_stream_client \{\s*GET \$binary_remote_addr;\s*default "";/,
      );
      expect(nginx).toMatch(/limit_conn mcp_streams (\d+);/);
      expect(Number(/limit_conn mcp_streams (\d+);/.exec(nginx)?.[1])).toBeGreaterThanOrEqual(100);
    },
  ],
  [
    'request bodies have bounded timeouts (nginx per read, HAProxy buffers the request)',
    () => {
      expect(nginx).toMatch(/client_body_timeout \d+s;/);
      expect(haproxy).toContain('option http-buffer-request');
      expect(Number(/timeout http-request (\d+)s/.exec(haproxy)?.[1])).toBeLessThanOrEqual(60);
    },
  ],
  [
    'compose names are re-resolved: nginx `resolve` (pinned nginx >= 1.27.3), HAProxy resolvers',
    () => {
      expect(nginx).toMatch(/resolver 127\.0\.0\.11 /);
      expect(nginx).toMatch(/server gateway-1:8080 resolve /);
      const image = /image: nginx:(\d+)\.(\d+)/.exec(file(all, 'compose.yaml')!.content);
      expect(Number(image?.[1]) * 1000 + Number(image?.[2])).toBeGreaterThanOrEqual(1027);
      expect(haproxy).toMatch(/^resolvers mcp_dns$/m);
      expect(haproxy).toMatch(/default-server .* resolvers mcp_dns/);
    },
  ],
  [
    'HAProxy session affinity routes on the session-id prefix, with no stick table',
    () => {
      const cfg = file(direct, 'haproxy.cfg')!.content;
      expect(cfg).not.toMatch(/^\s*stick/m);
      expect(cfg).toContain('use-server w1 if { req.hdr(mcp-session-id),field(1,.) -m str w1 }');
    },
  ],
  [
    'the image is a current Node LTS, not Node 20',
    () => {
      const dockerfile = file(all, 'Dockerfile')!.content;
      expect(dockerfile).toMatch(/^FROM node:24-slim/m);
      expect(dockerfile).not.toContain('node:20');
    },
  ],
  [
    'Redis requires a generated password (compose .env, k8s Secret) and gateways/workers use it',
    () => {
      expect(file(all, '.env')!.content).toMatch(/^MCP_SCALE_REDIS_PASSWORD='\S{24,}'$/m);
      const env = file(all, '.env')!.content;
      const password = /^MCP_SCALE_REDIS_PASSWORD='?([^'\n]+)'?$/m.exec(env)?.[1];
      // The roles get the URL with the password through .env, never their command line.
      expect(env).toContain(`MCP_SCALE_REDIS_URL='redis://:${password}@redis:6379'`);
      expect(file(all, 'compose.yaml')!.content).not.toContain(password!);
      const secret = k8s(all).find((o) => o.kind === 'Secret');
      expect(secret.stringData['redis-password'].length).toBeGreaterThanOrEqual(24);
      expect(secret.stringData['redis-url']).toBe(
        `redis://:${secret.stringData['redis-password']}@mcp-scale-redis:6379`,
      );
    },
  ],
  [
    'NetworkPolicies: Redis from gateways/workers only; workers from gateways and monitoring only',
    () => {
      const policies = k8s(all).filter((o) => o.kind === 'NetworkPolicy');
      const redis = policies.find((p) => p.metadata.name === 'mcp-scale-redis');
      expect(redis.spec.ingress[0].from[0].podSelector.matchExpressions[1].values).toEqual([
        'gateway',
        'worker',
      ]);
      const worker = policies.find((p) => p.metadata.name === 'mcp-scale-worker');
      expect(worker.spec.ingress[0].from[0].podSelector.matchLabels['app.kubernetes.io/component']).toBe(
        'gateway',
      );
      expect(
        worker.spec.ingress[1].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'],
      ).toBe('monitoring');
      // Egress stays open (OTLP, JWKS): no policy restricts it.
      for (const policy of policies) expect(policy.spec.policyTypes).toEqual(['Ingress']);
      // No worker Service with a gateway tier: nothing to bypass the gateways with.
      expect(k8s(all).some((o) => o.kind === 'Service' && o.metadata.name === 'mcp-scale-worker')).toBe(
        false,
      );
    },
  ],
  [
    'at least 2 gateways by default, PDB maxUnavailable 1 per tier, topology spread everywhere',
    () => {
      const gateways = workloads(all).find((o) => o.metadata.name === 'mcp-scale-gateway');
      expect(gateways.spec.replicas).toBeGreaterThanOrEqual(2);
      const pdbs = k8s(all).filter((o) => o.kind === 'PodDisruptionBudget');
      expect(pdbs.map((p) => p.spec.maxUnavailable)).toEqual([1, 1]);
      for (const w of workloads(all).filter((o) => o.kind === 'Deployment'))
        expect(w.spec.template.spec.topologySpreadConstraints.length).toBeGreaterThanOrEqual(1);
    },
  ],
  [
    'preStop delay, and grace = preStop + drain + margin',
    () => {
      for (const files of [all, gatewayApi]) {
        for (const w of workloads(files).filter((o) => o.kind === 'Deployment')) {
          const pod = w.spec.template.spec;
          const preStop = Number(pod.containers[0].lifecycle.preStop.exec.command[1]);
          expect(preStop).toBeGreaterThan(0);
          const drain = pod.containers[0].args.includes('--drain-timeout')
            ? Number.parseInt(
                pod.containers[0].args[pod.containers[0].args.indexOf('--drain-timeout') + 1],
                10,
              )
            : 10;
          expect(pod.terminationGracePeriodSeconds).toBe(preStop + drain + 5);
        }
      }
    },
  ],
  [
    'HPA scales down gently',
    () => {
      const hpa = k8s(all).find((o) => o.kind === 'HorizontalPodAutoscaler');
      expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
      expect(hpa.spec.behavior.scaleDown.policies).toContainEqual({
        type: 'Pods',
        value: 1,
        periodSeconds: 60,
      });
      expect(hpa.spec.behavior.scaleDown.selectPolicy).toBe('Min');
    },
  ],
  [
    'every mcp-scale container has a startupProbe',
    () => {
      for (const w of workloads(all).filter((o) => o.kind === 'Deployment'))
        expect(w.spec.template.spec.containers[0].startupProbe.httpGet.path).toBe('/healthz');
    },
  ],
  [
    'every pod (Redis included) passes the restricted Pod Security rules, Redis with its own uid',
    () => {
      for (const files of [all, gatewayApi, rendered('none-stateless-k8s')])
        for (const w of workloads(files)) expect(checkPodSecurity(w)).toEqual([]);
      const redis = workloads(all).find((o) => o.kind === 'StatefulSet');
      expect(redis.spec.template.spec.securityContext.runAsUser).toBe(999);
      const mounts = redis.spec.template.spec.containers[0].volumeMounts.map((m: Doc) => m.mountPath);
      expect(mounts).toEqual(expect.arrayContaining(['/data', '/config']));
    },
  ],
  [
    '--gateway-api writes a Gateway and an HTTPRoute instead of the Ingress',
    () => {
      const kinds = k8s(gatewayApi).map((o) => o.kind);
      expect(kinds).toEqual(expect.arrayContaining(['Gateway', 'HTTPRoute']));
      expect(kinds).not.toContain('Ingress');
    },
  ],
];

describe('production review of the generated files', () => {
  for (const [property, check] of PROPERTIES) it(property, check);
});
