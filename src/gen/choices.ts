import type { Affinity } from '../config/cluster-config.js';
import { formatDuration } from '../config/duration.js';
import { redactRedisUrl } from '../redis/connection.js';
import { nginxSize, PROXY_FAILOVER, type ProxyModel } from './proxy-model.js';
import { NODE_IMAGE } from './images.js';
import { wholeSeconds } from './options.js';
import type { GenOptions } from './types.js';

/**
 * The comment block each generated file starts with: the choices made and
 * why, so whoever deploys the file can judge it without reading mcp-scale.
 */

const SESSION_PROXY = {
  nginx:
    'nginx routes on that prefix with a `map` on the Mcp-Session-Id header (open-source nginx cannot learn stickiness from a response); requests without a session id (initialize, 2026-era requests) or with an unknown prefix go to the least-connections pool.',
  haproxy:
    'HAProxy routes on that prefix too (`use-server <id> if { req.hdr(mcp-session-id),field(1,.) -m str <id> }`): no stick table a client could flood with made-up ids, and nothing to forget on a restart; requests without a session id or with an unknown prefix are balanced (least connections).',
} as const;

export function affinityChoices(affinity: Affinity, proxy: 'nginx' | 'haproxy' | 'ingress'): string[] {
  switch (affinity) {
    case 'gateway':
      return [
        "- Affinity gateway: the proxy balances over mcp-scale gateways (least connections) and needs no stickiness. Gateways keep 2025-era sessions in Redis, route each request to the session's worker, and replay `initialize` on a healthy worker when that worker dies.",
      ];
    case 'session':
      return [
        '- Affinity session: the proxy talks to workers directly, with no gateway. Hashing Mcp-Session-Id alone would not keep a session on its creator: `initialize` has no session id yet, so the creator is random (measured: 11-13 of 30 first follow-ups reached it). Instead each worker mints session ids that name it, `<workerId>.<random>`, and sets Mcp-Scale-Instance itself.',
        proxy === 'ingress' ? '' : `- ${SESSION_PROXY[proxy]}`,
        "- Trade-offs without a gateway: no failover (a dead worker's sessions are gone; clients must initialize again); each worker authenticates and rate-limits requests itself with the same --auth and limit settings (counted in Redis), so user-scoped caching stays safe.",
      ].filter(Boolean);
    case 'ip':
      return [
        `- Affinity ip (${proxy === 'haproxy' ? '`balance source`' : '`ip_hash`'}): workers directly, one client address to one worker. Every client behind one NAT or corporate proxy lands on the same worker (uneven load), and a client whose address changes loses its session. No failover; workers authenticate and rate-limit requests themselves.`,
      ];
    case 'none':
      return [
        '- Affinity none: workers directly, least connections, no stickiness. Correct only when sessions are stateless (--sessions stateless, or 2026-era clients only): a 2025-era session would reach workers that do not know it.',
      ];
  }
}

export function nginxChoices(m: ProxyModel): string[] {
  return [
    'mcp-scale gen nginx: nginx in front of the mcp-scale ' +
      (m.tier === 'gateway' ? 'gateways.' : 'workers.'),
    '',
    'Choices made, and why:',
    ...affinityChoices(m.affinity, 'nginx'),
    `- SSE: proxy_buffering off and proxy_cache off forward each event as it is written; HTTP/1.1 with \`Connection ""\` keeps upstream connections alive (keepalive pool); proxy_read_timeout/proxy_send_timeout ${m.streamTimeoutS}s let quiet streams stay open; proxy_connect_timeout ${m.connectTimeoutS}s gives up on an unreachable upstream quickly (a live one on the same network connects in ms); gzip off because compression buffers.`,
    `- client_max_body_size ${nginxSize(m.maxBodyBytes)} matches --max-body, so nginx and the gateway reject the same bodies.`,
    '- X-Forwarded-For and X-Real-IP are overwritten with $remote_addr (never appended to what the client sent) and Forwarded is cleared, so a client cannot choose the address its limits are keyed on; the gateway runs with --trust-proxy and takes the rightmost untrusted hop.',
    `- client_header_timeout/client_body_timeout ${m.bodyTimeoutS}s: a slow sender cannot hold a connection for the stream timeout.`,
    m.streamsPerIp > 0
      ? `- limit_conn: at most ${m.streamsPerIp} concurrent SSE GET streams per client IP (429 above; --stream-limit-per-ip); POSTs are not counted.`
      : '- No limit on concurrent SSE GET streams per client IP (--stream-limit-per-ip 0).',
    '- The access log leaves out Mcp-Session-Id: it is credential-like.',
    m.resolver
      ? `- Service names are re-resolved through ${m.resolver.address} every ${m.resolver.validS}s (\`resolve\` on the servers, nginx >= 1.27.3), so a recreated container is found without a reload.`
      : '- Upstream addresses are resolved once at start (reload nginx after an address changes).',
    '- /healthz is proxied to the pool without access logs; /metrics is not published (mcp-scale serves it to loopback peers, and behind a proxy every peer looks local).',
    `- Health: open-source nginx only checks passively. One failed connection takes an instance out for ${m.failover.failTimeoutS}s (max_fails=${m.failover.maxFails} fail_timeout=${m.failover.failTimeoutS}s), about as long as its supervisor takes to restart it; then one live request tries it again. A longer fail_timeout keeps a restarted instance out, and if the others fail meanwhile every request gets 502 although one is up. The instances' own /readyz drives Docker and Kubernetes health.`,
    `- Retries: only what cannot have reached an instance goes to another one (proxy_next_upstream error timeout, at most ${m.failover.nextUpstreamTries} tries within ${m.failover.nextUpstreamTimeoutS}s): a refused or timed-out connection, or a GET that got no answer. A POST an instance had received when it died is not re-sent (its tool call may have run): the client gets 502, retries on the same session if the call is safe, and the next request reaches a live instance.`,
    m.rateLimit
      ? `- Rate limit: ${m.rateLimit.nginxRate} per client IP with a burst of ${m.rateLimit.burst} (limit_req, 429 when exceeded), before any request reaches mcp-scale; per-user limits stay in the gateway.`
      : "- No proxy rate limit (--nginx-rate-limit adds one per client IP); per-user limits are the gateway's job.",
    m.tls
      ? '- TLS terminates here (TLS 1.2 and 1.3); mcp-scale instances behind it speak plain HTTP on the private network.'
      : '- Plain HTTP: terminate TLS here with --tls-cert/--tls-key, or in a load balancer in front.',
    '- pid, lock and temp paths are relative to the -p prefix and logs go to stderr/stdout, so `nginx -t -c FILE -p PREFIX` and a private run touch no system files.',
  ];
}

export function haproxyChoices(m: ProxyModel): string[] {
  return [
    'mcp-scale gen haproxy: HAProxy in front of the mcp-scale ' +
      (m.tier === 'gateway' ? 'gateways.' : 'workers.'),
    '',
    'Choices made, and why:',
    ...affinityChoices(m.affinity, 'haproxy'),
    '- SSE: `option http-no-delay` on the MCP backend (without it events leave ~200 ms late, in pairs); `timeout client/server/tunnel ' +
      `${m.streamTimeoutS}s\` let quiet streams stay open; \`timeout connect ${m.connectTimeoutS}s\` gives up on an unreachable instance quickly.`,
    `- \`option http-buffer-request\` with \`timeout http-request ${m.bodyTimeoutS}s\`: a request, body included, must arrive within ${m.bodyTimeoutS}s, so a slow POST cannot hold a slot for the stream timeout.`,
    '- X-Forwarded-For and X-Real-IP are set to the peer address (`set-header`, never appended) and Forwarded is removed, so a client cannot choose the address its limits are keyed on.',
    m.resolver
      ? `- \`resolvers mcp_dns\` (${m.resolver.address}): service names are re-resolved at run time, so a recreated container is found without a reload.`
      : '- Server addresses are resolved at start (reload HAProxy after an address changes).',
    `- Active health checks GET /readyz every ${m.failover.checkInterMs / 1000}s (readiness, not /healthz liveness), so an instance that is draining or has lost Redis leaves the pool before it stops; a connection an instance refuses marks it down at once (observe layer4), and a down instance is checked every ${m.failover.checkDownInterMs / 1000}s, so one its supervisor restarts is back within ${(m.failover.checkDownInterMs + m.failover.checkFastInterMs) / 1000}s (rise ${m.failover.checkRise}, ${m.failover.checkFastInterMs} ms apart). \`monitor-uri /healthz\` answers outside probes (503 when no instance is up) without logging them.`,
    `- Retries: a failed connection cannot have reached an instance, so it is retried up to ${m.failover.retries} times, each on another instance (\`option redispatch 1\`, no 1 s wait on the dead one). A request whose connection closed without an answer is retried only for GET (\`retry-on conn-failure empty-response\` with \`disable-l7-retry unless METH_GET\`): a POST may have run its tool call, so the client gets the error and decides.`,
    `- Bodies declaring more than ${m.maxBodyBytes} bytes (--max-body) are refused with 413, as the gateway would.`,
    '- /metrics is not published (mcp-scale serves it to loopback peers only).',
    m.tls
      ? '- TLS terminates here: HAProxy reads the certificate and key from the --tls-cert PEM, or the key from the same name plus `.key` beside it.'
      : '- Plain HTTP: terminate TLS here with --tls-cert/--tls-key, or in a load balancer in front.',
    '- `init-addr last,libc,none`: HAProxy starts (and `haproxy -c` passes) even when a service name does not resolve yet; such a server stays down until it does.',
  ];
}

export function dockerChoices(options: GenOptions): string[] {
  return [
    'mcp-scale gen docker: one image for every mcp-scale role.',
    '',
    'Choices made, and why:',
    `- ${options.baseImage} (Debian, glibc): ${options.baseImage.startsWith(NODE_IMAGE) ? 'Node 24, an LTS line maintained until April 2028, ' : ''}without a compiler toolchain in the final image. ${options.baseImage.includes('@sha256:') ? 'Pinned by digest: rebuilds are reproducible; bump the digest for security fixes.' : 'A tag, so rebuilds pick up security fixes; pin a digest with --base-image node:24-slim@sha256:<digest> for reproducible builds.'}`,
    '- Two stages: the build stage compiles TypeScript with the dev dependencies; the runtime stage installs production dependencies only (`npm ci --omit=dev`) and copies dist/.',
    '- Runs as the unprivileged `node` user; nothing in the image needs root.',
    '- ENTRYPOINT is the CLI, so the role is the command: `docker run IMAGE gateway ...` or `docker run IMAGE worker ...`.',
    '- HEALTHCHECK GETs /healthz on $MCP_SCALE_HEALTH_PORT (8080, the gateway port; compose sets 3000 for workers).',
    options.server
      ? `- The server module ${options.server} is copied to /app/server/ and passed with --server.`
      : '- No --server module: workers host the built-in demo server. Re-run with --server ./your-module.js to bundle yours.',
    '- The cluster secret is never baked in: it comes from MCP_SCALE_CLUSTER_SECRET at run time.',
  ];
}

export function composeChoices(options: GenOptions): string[] {
  const gatewayTier = options.affinity === 'gateway';
  return [
    'mcp-scale gen compose: the whole cluster on one Docker host.',
    '',
    'Choices made, and why:',
    options.redis === 'auto'
      ? '- Redis 7 with an append-only file (appendfsync everysec) on a named volume: sessions, limits and the worker registry survive a Redis restart, losing at most a second of writes; RDB snapshots are off so there is one persistence story. It requires the password in .env (MCP_SCALE_REDIS_PASSWORD) and publishes no port. Its healthcheck gates everything that needs it.'
      : options.redis === 'ha'
        ? "- Redis 7 under Sentinel (--redis ha): redis-primary, redis-replica and three sentinels (quorum 2, down-after 5s). When the primary dies a sentinel majority promotes the replica and gateways and workers follow it through the sentinels without a restart. Replication is asynchronous: writes of the last moment before a crash can be lost. Passwords (requirepass/masterauth, the sentinels' own) are generated into .env; each sentinel keeps the config file it rewrites on its own volume."
        : `- Redis is yours (--redis ${redactRedisUrl(options.redis)}; the URL itself is in .env): no Redis service is started here.`,
    `- ${options.instances} worker service(s), one per worker rather than \`deploy.replicas\`, so each has a stable id (w1, w2, ...) and an address it advertises in the Redis registry.`,
    gatewayTier
      ? `- ${options.gateways} gateway service(s) find the workers through the Redis registry; nginx balances over the gateways.`
      : '- No gateway: with this affinity nginx talks to the workers directly (see nginx.conf).',
    ...affinityChoices(options.affinity, 'nginx'),
    `- nginx (nginx.conf beside this file) is the only published port: ${options.port}.`,
    '- Every mcp-scale service runs the image built from the generated Dockerfile, waits for its dependencies to be healthy, and restarts unless stopped.',
    '- The cluster secret and the Redis password are in .env (mode 0600, keep it out of version control); every gateway and worker must share them. Re-running gen into this folder keeps them (--rotate-secret makes new ones).',
    '- nginx re-resolves the service names (Docker DNS, `resolve`), so the pinned image is nginx >= 1.27.3.',
  ];
}

export type K8sFile =
  | 'secret'
  | 'api-keys'
  | 'redis'
  | 'redis-ha'
  | 'workers'
  | 'gateways'
  | 'hpa'
  | 'pdb'
  | 'network-policy'
  | 'ingress'
  | 'gateway-api';

/** The comment block of each Kubernetes file: the choices that file embodies. */
export function k8sChoices(options: GenOptions, file: K8sFile): string[] {
  const title = `mcp-scale gen k8s: ${K8S_TITLES[file]}`;
  return [title, '', 'Choices made, and why:', ...k8sFileChoices(options, file)];
}

const K8S_TITLES: Record<K8sFile, string> = {
  secret: 'the cluster secret, the Redis URL and the other secret settings.',
  'api-keys': 'a placeholder for the API keys (--auth apikey).',
  redis: 'Redis for sessions, limits, cache and the worker registry.',
  'redis-ha':
    'Sentinel-managed Redis (primary, replica, three sentinels) for sessions, limits, cache and the registry.',
  workers: 'the workers (each hosts the MCP server).',
  gateways: 'the gateways (sessions, routing, limits).',
  hpa: 'the worker autoscaler.',
  pdb: 'disruption budgets.',
  ingress: 'the public entry (ingress-nginx).',
  'network-policy': 'who may reach Redis, the workers and the gateways.',
  'gateway-api': 'the public entry (Gateway API: Gateway + HTTPRoute).',
};

function k8sFileChoices(options: GenOptions, file: K8sFile): string[] {
  const probes =
    '- Probes: startup GET /healthz (up to 120s for a slow --server module before liveness counts), readiness GET /readyz (false while draining; stays true while Redis blips, reporting degraded), liveness GET /healthz.';
  const grace = `- Rollouts lose nothing: preStop sleeps ${formatDuration(options.preStopMs)} while endpoints and the ingress forget the pod, then SIGTERM starts the drain (${formatDuration(options.drainTimeoutMs)}); terminationGracePeriodSeconds = preStop + drain + 5s.`;
  const hardened =
    '- Pod Security "restricted": non-root with a fixed uid, seccomp RuntimeDefault, no privilege escalation, every capability dropped, read-only root filesystem (an emptyDir for /tmp), no service account token. Spread over nodes and zones (topologySpreadConstraints).';
  switch (file) {
    case 'network-policy':
      return [
        options.redis === 'auto'
          ? '- Redis admits gateways and workers only (it also requires the password in the Secret).'
          : options.redis === 'ha'
            ? '- Redis (--redis ha): the data pods (6379) and the sentinels (26379) admit gateways, workers and each other only (replication, monitoring, failover votes); both also require their passwords from the Secret. Redis exports no metrics here, so no monitoring rule.'
            : '- Your Redis is outside this namespace: restrict it on its side.',
        options.affinity === 'gateway'
          ? `- Workers admit gateways only, plus pods of namespace ${options.monitoringNamespace}${Object.keys(options.monitoringSelector).length ? ' with the --monitoring-selector labels' : ''} for /metrics (--monitoring-namespace, --monitoring-selector); a pod cannot bypass the gateways.`
          : `- Workers admit any peer on the MCP port: without a gateway tier, the ingress controller reaches them directly.`,
        '- Ingress rules only: egress stays open, for Redis, OTLP collectors and JWKS endpoints.',
        '- Needs a network plugin that enforces NetworkPolicy (Calico, Cilium, ...); others ignore it silently.',
      ];
    case 'gateway-api':
      return [
        `- A Gateway of class ${options.gatewayClass} (--gateway-class) and an HTTPRoute to the ${options.affinity === 'gateway' ? 'gateway' : 'worker'} Service: the replacement for ingress-nginx, which no longer receives fixes.`,
        "- timeouts.request 0s: SSE streams are not cut by a route timeout; set your implementation's idle timeouts above the SSE heartbeat interval.",
        "- Session affinity is not needed (gateways keep sessions in Redis); with --affinity ip use your implementation's session persistence.",
      ];
    case 'secret':
      return [
        '- Every gateway and worker reads MCP_SCALE_CLUSTER_SECRET and MCP_SCALE_REDIS_URL from this Secret; the Redis URL is here because it carries a password.',
        '- Stable: re-running gen with the same --out keeps the cluster secret and Redis password found there (or --cluster-secret-file); --rotate-secret makes new ones.',
        '- Keep this file out of version control (or replace it with your secret manager).',
      ];
    case 'api-keys':
      return [
        `- Mounted at ${options.settings.auth.apiKeysFile ?? ''} (--api-keys) in every pod that authenticates. Its content is a placeholder: put your keys in it (kubectl create secret generic ${'mcp-scale-api-keys'} --from-file=api-keys=keys.txt) before deploying, or re-run with --api-keys-secret NAME to use a Secret you manage.`,
        '- Keep this file out of version control.',
      ];
    case 'redis':
      return [
        '- A single-replica StatefulSet with an append-only file (appendfsync everysec) on a PersistentVolumeClaim: sessions, limits and the registry survive a pod restart, losing at most a second of writes.',
        "- requirepass from the Secret (written into a config file on an emptyDir, never on the command line); restricted securityContext with the image's own redis uid (999).",
        '- For production prefer a replicated Redis: re-run with --redis ha (primary, replica, three sentinels) or --redis URL (a managed one), and this file is not generated.',
      ];
    case 'redis-ha':
      return [
        '- mcp-scale-redis: a StatefulSet of 2 data pods, each with an append-only file on its own PersistentVolumeClaim. On start a pod asks the sentinels which pod is the primary and replicates from it; on a first start pod 0 is the primary.',
        '- mcp-scale-sentinel: a StatefulSet of 3 sentinels (quorum 2, down-after 5s, failover-timeout 60s). Each writes its config file on a writable emptyDir (sentinel rewrites it), asking the other sentinels for the current primary first, so a restarted sentinel never points back at a demoted pod.',
        '- Pods announce their stable DNS names (resolve-hostnames, announce-hostnames, replica-announce-ip), so a rescheduled pod with a new IP keeps its identity.',
        "- Passwords come from the Secret (requirepass/masterauth for the data pods, the sentinels' own): never in argv. Gateways and workers connect with the redis-sentinel:// URL in the Secret and follow a failover without a restart.",
        '- Replication is asynchronous: writes acknowledged in the last moment before a primary crashes can be lost (docs/high-availability.md).',
      ];
    case 'workers':
      return [
        '- A Deployment: each pod uses its own name as worker id and advertises its pod IP in the Redis registry, so adding pods needs no config change.',
        '- No replicas field: the HPA (hpa.yaml) owns the count; the pods request CPU so its percentage means something.',
        probes,
        grace,
        hardened,
        options.affinity === 'gateway'
          ? '- No worker Service: gateways reach workers by the pod IPs in the registry, and the NetworkPolicy admits only gateways (and metrics scrapes).'
          : '- The worker Service is the ingress backend (no gateway tier).',
        ...affinityChoices(options.affinity, 'ingress'),
      ];
    case 'gateways':
      return [
        `- ${options.gateways} replica(s); gateways hold no state of their own (sessions live in Redis), so any gateway serves any request and they find workers through the Redis registry.`,
        probes,
        grace,
        hardened,
        ...affinityChoices('gateway', 'ingress'),
      ];
    case 'hpa':
      return [
        `- autoscaling/v2 on CPU: workers from ${options.minReplicas} to ${options.maxReplicas} pods at ${options.cpuTargetPercent}% average utilisation of their CPU request. Workers do the work; gateways are light and stay at --gateways.`,
        '- behavior: scale-down waits for 5 quiet minutes and removes at most one pod (or 10%) a minute, as every removed worker drains and its sessions re-home; scale-up doubles or adds 4 pods every 30s, whichever is more.',
        '- Needs a metrics server in the cluster.',
      ];
    case 'pdb':
      return [
        '- policy/v1, maxUnavailable 1 per tier: a node drain or upgrade takes at most one pod of each tier at a time, and never blocks (minAvailable would with one replica).',
      ];
    case 'ingress':
      return [
        `- ingress-nginx annotations for SSE: proxy buffering off, HTTP/1.1 upstreams, ${wholeSeconds(options.streamTimeoutMs)}s read/send timeouts for quiet streams, ${PROXY_FAILOVER.connectTimeoutS}s connect timeout; the body limit matches --max-body.`,
        `- Retries (proxy-next-upstream error timeout, at most ${PROXY_FAILOVER.nextUpstreamTries} tries): only a connection that failed before the request was sent, or a GET that got no answer, goes to another pod; a POST a pod had received when it died is not re-sent (its tool call may have run), the client gets 502. The Service routes to Ready pods only.`,
        options.affinity === 'gateway'
          ? '- Backend: the gateway Service; no stickiness needed, gateways keep sessions in Redis.'
          : options.affinity === 'ip'
            ? '- Backend: the worker Service, hashed on the client address (upstream-hash-by $remote_addr); no gateways are deployed.'
            : '- Backend: the worker Service directly; no gateways are deployed.',
        ...(options.affinity === 'gateway' ? [] : affinityChoices(options.affinity, 'ingress')),
        options.rateLimit
          ? '- limit-rps: the --nginx-rate-limit, per client IP, before requests reach mcp-scale.'
          : "- No per-IP limit at the Ingress (--nginx-rate-limit adds one); per-user limits are the gateway's job.",
      ];
  }
}

/** Warnings printed (not just written into files) because they are easy to miss. */
export function genWarnings(options: GenOptions): string[] {
  const warnings: string[] = [];
  if (options.affinity === 'ip') {
    warnings.push(
      'affinity ip: every client behind one NAT or corporate proxy lands on the same worker; a client whose address changes loses its session',
    );
  }
  if (options.affinity === 'none' && options.sessions !== 'stateless') {
    warnings.push(
      'affinity none without --sessions stateless: 2025-era sessions will reach workers that do not know them',
    );
  }
  return warnings;
}
