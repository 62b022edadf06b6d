import { Pool } from 'undici';
import { Redis } from 'ioredis';
import { connectAdmin } from '../../src/admin/admin-redis.js';
import { listSessions } from '../../src/admin/sessions.js';
import { closeRedis, connectRedis } from '../../src/redis/connection.js';
import { startLocalRedisHa } from '../../src/redis/local-ha.js';
import { parseRedisUrl } from '../../src/redis/redis-url.js';
import { startRole, type RoleProcess } from './fixtures.js';
import { median, openSessions } from './load.js';
import { Teardown } from './teardown.js';

/**
 * What a Redis primary crash costs under Sentinel: a private primary,
 * replica and three sentinels (`startLocalRedisHa`, as `serve --redis ha`),
 * two worker processes and two gateway processes in front of them, one with
 * the default `--limits-on-redis-failure local` and one with `closed`, both
 * with a rate limit nobody reaches (so every call is counted in Redis).
 * Sessions on each gateway call get_product at a fixed pace; the primary is
 * SIGKILLed; nothing of mcp-scale is restarted. Per round:
 *
 *   - promoted: kill -> the sentinels name the replica (get-master-addr-by-name);
 *   - redis back: kill -> first successful SET of a fail-fast client (the gateways' settings);
 *   - per gateway: failed calls (count) and their window (first..last failure after the kill),
 *     and kill -> first successful call after the last failure;
 *   - sessions kept: sessions listed in Redis after the failover / sessions opened.
 *
 *   npm run build && npm run build:scripts && node dist-dev/scripts/perf/redis-failover.js [--rounds 3] [--down-after 1000] [--json]
 */
interface Args {
  rounds: number;
  downAfterMs: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rounds: 3, downAfterMs: 1000, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') args.rounds = Math.max(1, Number(argv[++i]));
    else if (argv[i] === '--down-after') args.downAfterMs = Number(argv[++i]);
    else if (argv[i] === '--json') args.json = true;
  }
  return args;
}

const SESSIONS_PER_GATEWAY = 8;
/** Each session calls every PACE_MS: 2 x 8 x 20 = 320 calls/s, well below saturation here. */
const PACE_MS = 50;
const AFTER_RECOVERY_MS = 3000;
const PREFIX = 'perf-ha:';
const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

interface GatewayOutcome {
  policy: string;
  calls: number;
  failures: number;
  failureWindowMs: [number, number] | null;
  recoveredAfterMs: number | null;
  statuses: Record<string, number>;
}

interface Round {
  promotedAfterMs: number;
  redisBackAfterMs: number;
  gateways: GatewayOutcome[];
  sessionsOpened: number;
  sessionsKept: number;
}

/** One round on a fresh Redis HA and fresh roles, all stopped when it ends or fails, or when `parent` runs (Ctrl-C). */
async function round(args: Args, parent: Teardown): Promise<Round> {
  const teardown = parent.scope();
  try {
    const ha = await teardown.start(
      () => startLocalRedisHa({ downAfterMs: args.downAfterMs, failoverTimeoutMs: 5000 }),
      (h) => h.close(),
    );
    const env = { REDIS_URL: ha.url };
    const start = (...role: Parameters<typeof startRole>) =>
      teardown.start(
        () => startRole(...role),
        (r: RoleProcess) => r.stop(),
      );
    const common = ['--redis', 'auto', '--prefix', PREFIX];
    const workers: RoleProcess[] = [];
    for (const id of ['w1', 'w2'])
      workers.push(await start('worker', id, ['--id', id, ...common, '--backend-latency', '0'], env));
    const workerArgs = workers.flatMap((w) => ['--worker', `${w.child.spec.name}=${w.url}`]);
    const policies = ['local', 'closed'];
    const gateways: RoleProcess[] = [];
    for (const policy of policies) {
      gateways.push(
        await start(
          'gateway',
          `gateway-${policy}`,
          [...common, ...workerArgs, '--rate-limit', '1000000000/1h', '--limits-on-redis-failure', policy],
          env,
        ),
      );
    }
    const sessions = await Promise.all(gateways.map((g) => openSessions(g.url, SESSIONS_PER_GATEWAY)));
    const outcomes: { at: number; gateway: number; status: string }[] = [];
    let stop = false;
    const pools = gateways.map((g) => new Pool(new URL(g.url).origin, { connections: SESSIONS_PER_GATEWAY }));
    const loops = gateways.flatMap((gateway, g) =>
      sessions[g]!.map(async (session, s) => {
        for (let id = 1; !stop; id++) {
          const next = Date.now() + PACE_MS;
          let status: string;
          try {
            const response = await pools[g]!.request({
              path: new URL(gateway.url).pathname,
              method: 'POST',
              headers: { ...HEADERS, 'mcp-session-id': session },
              body: JSON.stringify({
                jsonrpc: '2.0',
                id,
                method: 'tools/call',
                params: { name: 'get_product', arguments: { id: `p0000${(s % 9) + 1}` } },
              }),
              headersTimeout: 10_000,
              bodyTimeout: 10_000,
            });
            const text = await response.body.text();
            status =
              response.statusCode === 200 && !text.includes('"error"') ? 'ok' : `HTTP ${response.statusCode}`;
          } catch (error) {
            status = (error as Error).name;
          }
          outcomes.push({ at: Date.now(), gateway: g, status });
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
        }
      }),
    );
    // Steady state first.
    await until(() => outcomes.length >= SESSIONS_PER_GATEWAY * 2 * 20, 30_000);

    const target = parseRedisUrl(ha.url);
    if (target.kind !== 'sentinel') throw new Error('unreachable');
    const probe = connectRedis(ha.url, { connectionName: 'perf-probe', commandTimeoutMs: 500 });
    probe.on('error', () => {});
    const sentinel = new Redis({
      host: '127.0.0.1',
      port: ha.sentinels[0]!.port,
      password: target.sentinelPassword,
    });
    sentinel.on('error', () => {});

    const killedAt = Date.now();
    process.kill(ha.primary.pid, 'SIGKILL');
    let promotedAt = 0;
    let redisBackAt = 0;
    let sawFailure = false;
    const deadline = killedAt + 60_000;
    while ((!promotedAt || !redisBackAt) && Date.now() < deadline) {
      if (!promotedAt) {
        const [, port] = (await sentinel.call(
          'SENTINEL',
          'GET-MASTER-ADDR-BY-NAME',
          ha.masterName,
        )) as string[];
        if (Number(port) === ha.replica.port) promotedAt = Date.now();
      }
      if (!redisBackAt) {
        const ok = await probe.set(`${PREFIX}probe`, String(Date.now())).then(
          () => true,
          () => false,
        );
        if (!ok) sawFailure = true;
        else if (sawFailure) redisBackAt = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    sentinel.disconnect();
    await closeRedis(probe);
    const recovered = Math.max(promotedAt, redisBackAt);
    await until(() => Date.now() - recovered > AFTER_RECOVERY_MS, AFTER_RECOVERY_MS + 1000);
    stop = true;
    await Promise.all(loops);
    await Promise.all(pools.map((p) => p.close()));

    const admin = await connectAdmin({ url: ha.url, prefix: PREFIX, source: '--redis' });
    const kept = (await listSessions(admin)).length;
    await admin.close();
    return {
      promotedAfterMs: promotedAt - killedAt,
      redisBackAfterMs: redisBackAt - killedAt,
      gateways: policies.map((policy, g) => summarize(policy, outcomes, g, killedAt)),
      sessionsOpened: SESSIONS_PER_GATEWAY * gateways.length,
      sessionsKept: kept,
    };
  } finally {
    await teardown.run();
  }
}

function summarize(
  policy: string,
  all: { at: number; gateway: number; status: string }[],
  g: number,
  killedAt: number,
): GatewayOutcome {
  const mine = all.filter((o) => o.gateway === g && o.at >= killedAt);
  const failed = mine.filter((o) => o.status !== 'ok');
  const statuses: Record<string, number> = {};
  for (const o of failed) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
  const lastFailure = failed.at(-1)?.at;
  const firstOkAfter = lastFailure
    ? mine.find((o) => o.at > lastFailure && o.status === 'ok')?.at
    : undefined;
  return {
    policy,
    calls: mine.length,
    failures: failed.length,
    failureWindowMs: failed.length ? [failed[0]!.at - killedAt, lastFailure! - killedAt] : null,
    recoveredAfterMs: failed.length ? (firstOkAfter ? firstOkAfter - killedAt : null) : 0,
    statuses,
  };
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main(teardown: Teardown): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rounds: Round[] = [];
  for (let i = 0; i < args.rounds; i++) {
    const result = await round(args, teardown);
    rounds.push(result);
    if (!args.json) process.stderr.write(`round ${i + 1}: ${JSON.stringify(result)}\n`);
  }
  const med = (values: number[]) => median(values);
  const summary = {
    downAfterMs: args.downAfterMs,
    rounds: rounds.length,
    promotedAfterMs: med(rounds.map((r) => r.promotedAfterMs)),
    redisBackAfterMs: med(rounds.map((r) => r.redisBackAfterMs)),
    perGateway: ['local', 'closed'].map((policy, g) => ({
      policy,
      failures: rounds.map((r) => r.gateways[g]!.failures),
      recoveredAfterMs: rounds.map((r) => r.gateways[g]!.recoveredAfterMs),
    })),
    sessionsKept: rounds.map((r) => `${r.sessionsKept}/${r.sessionsOpened}`),
  };
  if (args.json) process.stdout.write(`${JSON.stringify({ summary, rounds }, null, 2)}\n`);
  else process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

const teardown = new Teardown();
teardown.onSignals();
void main(teardown).catch((error: unknown) => {
  if (teardown.interrupted) return; // the signal handler exits 130 once everything is stopped
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
