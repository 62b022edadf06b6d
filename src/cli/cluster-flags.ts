import { Option, type Command } from 'commander';
import { collectStrings } from './options.js';

/**
 * The cluster flags, shared by serve, gateway and worker. Values stay raw
 * strings here: resolveClusterConfig parses them with the same rules as the
 * config file (so `--session-ttl 90` and `"sessionTtl": 90` agree) and names
 * the flag in any error. Defaults live in defaultClusterConfig, not here, so
 * a config file is never overridden by a flag nobody typed.
 */
type FlagGroup = 'network' | 'redis' | 'server' | 'sessions' | 'proxy' | 'auth' | 'limits' | 'cache' | 'lb';

/** Everything `serve` takes (and `bench --spawn`, which starts the same cluster). */
export const SERVE_FLAG_GROUPS: FlagGroup[] = [
  'network',
  'redis',
  'server',
  'sessions',
  'proxy',
  'auth',
  'limits',
  'cache',
  'lb',
];

export function addClusterFlags(command: Command, groups: FlagGroup[]): Command {
  const has = (group: FlagGroup) => groups.includes(group);
  command.option(
    '--config <file>',
    'read settings from a JSON config file (same keys as the flags, camelCased)',
  );
  if (has('network')) {
    command
      .option('--host <host>', 'address to bind (default 127.0.0.1)')
      .option('--port <port>', 'port to listen on (default 8080 for gateways, a free one for workers)')
      .option('--path <path>', 'MCP endpoint path (default /mcp)')
      .option('--max-body <size>', 'largest request body, e.g. 4mb (default 4mb); larger gets 413')
      .option(
        '--allowed-host <host>',
        'extra Host/Origin name accepted on a loopback bind (repeatable)',
        collectStrings,
      )
      .option(
        '--admin-token <token>',
        'require this Bearer token for /metrics and /_mcp-scale/* (default: loopback only)',
      )
      .option(
        '--cluster-secret <secret>',
        'shared secret (>= 32 bytes) signing identities and 2026 request state (env MCP_SCALE_CLUSTER_SECRET)',
      );
  }
  if (has('redis')) {
    command
      .option(
        '--redis <url>',
        'Redis: auto | memory | redis://… | rediss://… | redis-cluster://h:p,h:p (default auto)',
      )
      .option('--prefix <prefix>', 'prefix of every Redis key and channel (default mcp-scale:)');
  }
  if (has('server')) {
    command
      .option(
        '--server <module>',
        'module exporting an McpServer factory (SDK 1.x or v2); default: the demo shop',
      )
      .option(
        '--server-cmd <command>',
        'any command serving Streamable HTTP on {port} / $PORT, run as each worker',
      )
      .option('--backend-latency <duration>', "demo server's simulated backend latency (default 20ms)");
  }
  if (has('sessions')) {
    command
      .addOption(
        new Option(
          '--sessions <mode>',
          '2025-era serving: stateful sessions or stateless (default stateful)',
        ).choices(['stateful', 'stateless']),
      )
      .option('--session-ttl <duration>', 'idle lifetime of a 2025 session (default 1h)');
  }
  if (has('proxy')) {
    command
      .option('--max-inflight <n>', 'concurrent requests per worker before 503 + Retry-After (default 128)')
      .option('--upstream-timeout <duration>', 'wait this long for a worker to start answering (default 5m)')
      .option(
        '--drain-timeout <duration>',
        'on SIGINT/SIGTERM, let requests finish for this long (default 10s)',
      )
      .option(
        '--sse-heartbeat <duration>',
        'send an SSE comment line on streams quiet this long, for idle-timeout proxies (default 15s; 0 = off)',
      )
      .option(
        '--cors-origin <origin>',
        'allow browser clients from this origin (repeatable; * for any)',
        collectStrings,
      )
      .option(
        '--trust-proxy',
        'take the client address from X-Forwarded-For sent by loopback/private-range peers (rightmost untrusted hop)',
      )
      .option(
        '--trusted-proxies <cidrs...>',
        'trust X-Forwarded-For only from these addresses/CIDRs (narrows --trust-proxy, implies it)',
      );
  }
  if (has('auth')) {
    command
      .addOption(
        new Option('--auth <mode>', 'who the user is (default none: the client IP)').choices([
          'none',
          'apikey',
          'jwt',
        ]),
      )
      .option('--api-keys <file>', 'API keys: JSON {"key":"user"} or lines "key user"')
      .option('--jwt-secret <secret>', 'HS256 secret for --auth jwt (env MCP_SCALE_JWT_SECRET)')
      .option('--jwks-url <url>', 'JWKS endpoint for --auth jwt')
      .option('--jwt-issuer <iss>', 'required JWT issuer')
      .option('--jwt-audience <aud>', 'required JWT audience')
      .option(
        '--resource-metadata <url>',
        'RFC 9728 protected-resource metadata URL, advertised in WWW-Authenticate',
      );
  }
  if (has('limits')) {
    command
      .option('--rate-limit <rate>', 'per-user budget, e.g. 60/1m')
      .option('--block <duration>', 'block a key this long once its limit is hit')
      .option('--ip-rate-limit <rate>', 'per-IP budget for unauthenticated requests, e.g. 100/1m')
      .option(
        '--tool-limit <tool=rate>',
        'per-tool, per-user budget, e.g. search_products=10/1m (repeatable)',
        collectStrings,
      )
      .option(
        '--tool-cost <tool=points>',
        'points one call of the tool costs, e.g. generate_report=5 (repeatable)',
        collectStrings,
      )
      .addOption(
        new Option(
          '--limits-on-redis-failure <policy>',
          'when Redis is away: open, local (default) or closed',
        ).choices(['open', 'local', 'closed']),
      );
  }
  if (has('cache')) {
    command
      .option(
        '--cache-ttl <tool=duration>',
        'cache a tool result this long, e.g. get_product=5m (repeatable)',
        collectStrings,
      )
      .option(
        '--cache-scope <tool=scope>',
        'public (shared) or user (per signed identity) (repeatable)',
        collectStrings,
      )
      .option('--cache-force <tools>', 'cache these tools even without readOnlyHint (comma-separated)')
      .option('--cache-timeout <duration>', 'bypass the cache when Redis is slower than this (default 50ms)');
  }
  if (has('lb')) {
    command
      .addOption(
        new Option('--lb <proxy>', 'run a real load balancer in front (generated config)').choices([
          'nginx',
          'haproxy',
        ]),
      )
      .addOption(
        new Option('--affinity <mode>', 'how the load balancer keeps sessions (default gateway)').choices([
          'gateway',
          'session',
          'ip',
          'none',
        ]),
      );
  }
  return command;
}
