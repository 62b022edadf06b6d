import { UserError } from '../errors.js';
import { redactRedisUrl } from './redact.js';

export { redactRedisUrl };

/**
 * What a Redis URL names. Parsed once, in one place, so every role and every
 * admin command accepts (and refuses) exactly the same URLs:
 *
 *   redis://[[user]:password@]host:port[/db]            one Redis (rediss:// for TLS)
 *   redis-cluster://[[user]:password@]host:port,host:port   Redis Cluster seed nodes
 *   redis-sentinel://[[user]:password@]host:port[,host:port…]/<master-name>[?sentinelPassword=…]
 *       Sentinel-managed primary/replicas; the password is the data nodes', sentinelPassword
 *       (and sentinelUsername) the sentinels' own; rediss-sentinel:// for TLS to both.
 */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; tls: boolean; nodes: HostPort[]; username?: string; password?: string }
  | {
      kind: 'sentinel';
      tls: boolean;
      sentinels: HostPort[];
      masterName: string;
      db: number;
      username?: string;
      password?: string;
      sentinelUsername?: string;
      sentinelPassword?: string;
    };

export interface HostPort {
  host: string;
  port: number;
}

const SENTINEL_PARAMS = new Set(['sentinelPassword', 'sentinelUsername', 'db']);

export function parseRedisUrl(url: string): RedisTarget {
  const match = /^(rediss?)(-cluster|-sentinel)?:\/\/(.*)$/.exec(url);
  if (!match) fail(url, 'use redis://, rediss://, redis-cluster:// or redis-sentinel://');
  const tls = match[1] === 'rediss';
  const flavour = match[2];
  if (!flavour) {
    // ioredis parses plain URLs itself; only check that it is one, with a host.
    let hostname = '';
    try {
      hostname = new URL(url).hostname;
    } catch {
      fail(url, 'not a URL');
    }
    if (!hostname) fail(url, 'no host');
    return { kind: 'single', url };
  }
  const rest = match[3] ?? '';
  const at = rest.lastIndexOf('@', rest.search(/[/?]/) >= 0 ? rest.search(/[/?]/) : rest.length);
  const auth = splitAuth(at >= 0 ? rest.slice(0, at) : '');
  const afterAuth = at >= 0 ? rest.slice(at + 1) : rest;
  const [beforeQuery = '', query] = splitOnce(afterAuth, '?');
  const [hostList = '', pathPart] = splitOnce(beforeQuery, '/');
  const hosts = parseHosts(url, hostList);
  if (flavour === '-cluster') {
    if (query !== undefined || (pathPart !== undefined && pathPart !== ''))
      fail(url, 'a redis-cluster:// URL takes no database or options (a cluster has one keyspace)');
    return { kind: 'cluster', tls, nodes: hosts, ...auth };
  }
  const masterName = decodeURIComponent(pathPart ?? '');
  if (!masterName || masterName.includes('/'))
    fail(url, 'name the master after the hosts: redis-sentinel://host:port,host:port/<master-name>');
  const params = new URLSearchParams(query ?? '');
  for (const key of params.keys())
    if (!SENTINEL_PARAMS.has(key))
      fail(url, `unknown option '${key}' (known: ${[...SENTINEL_PARAMS].join(', ')})`);
  const dbText = params.get('db') ?? '0';
  if (!/^\d{1,2}$/.test(dbText)) fail(url, `db must be a database number, got '${dbText}'`);
  const sentinelUsername = params.get('sentinelUsername') ?? undefined;
  const sentinelPassword = params.get('sentinelPassword') ?? undefined;
  return {
    kind: 'sentinel',
    tls,
    sentinels: hosts,
    masterName,
    db: Number(dbText),
    ...auth,
    ...(sentinelUsername ? { sentinelUsername } : {}),
    ...(sentinelPassword ? { sentinelPassword } : {}),
  };
}

function parseHosts(url: string, list: string): HostPort[] {
  if (!list) fail(url, 'no host:port given');
  return list.split(',').map((entry) => {
    const hostPort = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(entry.trim());
    if (!hostPort) fail(url, `'${entry}' is not host:port`);
    const port = Number(hostPort[2] ?? (url.includes('-sentinel') ? 26379 : 6379));
    if (port < 1 || port > 65535) fail(url, `port ${port} is out of range`);
    return { host: (hostPort[1] ?? '').replace(/^\[|\]$/g, ''), port };
  });
}

function splitAuth(auth: string): { username?: string; password?: string } {
  if (!auth) return {};
  const colon = auth.indexOf(':');
  const username = colon >= 0 ? auth.slice(0, colon) : '';
  const password = colon >= 0 ? auth.slice(colon + 1) : auth;
  return {
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
  };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const index = text.indexOf(separator);
  return index < 0 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}

function fail(url: string, why: string): never {
  throw new UserError(`invalid Redis URL '${redactRedisUrl(url)}': ${why}`);
}
