import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { UserError } from '../errors.js';

/**
 * The secrets `gen` writes (.env, k8s/secret.yaml) stay the same from one
 * run to the next: re-running gen to change one flag and applying the
 * result must not give new pods a different cluster secret from running
 * ones (identities and continuation tokens would fail across them), nor a
 * Redis password the running Redis does not know. A new secret is only made
 * for a new folder, or when asked (`--rotate-secret`).
 */

export type SecretSource = 'flag' | 'file' | 'existing' | 'new' | 'rotated';

export interface GenSecrets {
  clusterSecret: string;
  /** Password of the Redis gen deploys; undefined with --redis URL (yours carries its own). */
  redisPassword?: string;
  /** --redis ha: the data nodes' password (requirepass/masterauth) and the sentinels' own. */
  redisHa?: { password: string; sentinelPassword: string };
  /** Where the cluster secret came from, for the report. */
  source: SecretSource;
  /** The file an existing secret was read from. */
  from?: string;
}

export interface SecretInputs {
  /** --cluster-secret / MCP_SCALE_CLUSTER_SECRET / the config file. */
  explicit?: string;
  /** --cluster-secret-file: the secret is the file's content, trimmed. */
  file?: string;
  /** The output folder, searched for the secrets of an earlier run; undefined for stdout. */
  outDir?: string;
  rotate: boolean;
  deployRedis: boolean;
  /** --redis ha: a primary, a replica and sentinels, each with a password. */
  deployHa?: boolean;
}

export function resolveGenSecrets(inputs: SecretInputs): GenSecrets {
  if (inputs.rotate && (inputs.explicit !== undefined || inputs.file !== undefined)) {
    throw new UserError(
      '--rotate-secret makes a new cluster secret: drop --cluster-secret / --cluster-secret-file',
    );
  }
  if (inputs.explicit !== undefined && inputs.file !== undefined) {
    throw new UserError('use either --cluster-secret (or MCP_SCALE_CLUSTER_SECRET) or --cluster-secret-file');
  }
  const existing = inputs.outDir ? readExistingSecrets(inputs.outDir) : {};
  // The Redis password follows the same rule, except that a new cluster secret
  // does not rotate it (the running Redis would refuse everyone).
  const redisPassword = inputs.deployRedis
    ? inputs.rotate
      ? randomSecret(24)
      : (existing.redisPassword ?? randomSecret(24))
    : undefined;
  // --redis ha: the same rule for both of its passwords, under the same names (.env
  // MCP_SCALE_REDIS_PASSWORD / MCP_SCALE_SENTINEL_PASSWORD, Secret redis-password /
  // sentinel-password). Hex: safe unquoted in redis.conf, sentinel.conf, a URL and a shell.
  const keep = (found: string | undefined) => (inputs.rotate ? undefined : found) ?? randomHex(24);
  const redisHa = inputs.deployHa
    ? { password: keep(existing.redisPassword), sentinelPassword: keep(existing.sentinelPassword) }
    : undefined;
  const redis = { redisPassword, ...(redisHa ? { redisHa } : {}) };
  if (inputs.explicit !== undefined) return { clusterSecret: inputs.explicit, ...redis, source: 'flag' };
  if (inputs.file !== undefined) {
    return { clusterSecret: readSecretFile(inputs.file), ...redis, source: 'file', from: inputs.file };
  }
  if (inputs.rotate) return { clusterSecret: randomSecret(36), ...redis, source: 'rotated' };
  if (existing.clusterSecret) {
    return { clusterSecret: existing.clusterSecret, ...redis, source: 'existing', from: existing.from };
  }
  return { clusterSecret: randomSecret(36), ...redis, source: 'new' };
}

export function randomSecret(bytes: number): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

function randomHex(bytes: number): string {
  return crypto.randomBytes(bytes).toString('hex');
}

function readSecretFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new UserError(
      `--cluster-secret-file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  if (Buffer.byteLength(text) < 32)
    throw new UserError(`--cluster-secret-file: ${file} holds fewer than 32 bytes`);
  return text;
}

interface ExistingSecrets {
  clusterSecret?: string;
  redisPassword?: string;
  sentinelPassword?: string;
  from?: string;
}

/**
 * The secrets an earlier run wrote into `outDir` (.env, k8s/secret.yaml).
 * Both present and different is refused: which one the running cluster
 * uses cannot be guessed.
 */
export function readExistingSecrets(outDir: string): ExistingSecrets {
  const found: ExistingSecrets[] = [];
  const envFile = path.join(outDir, '.env');
  const env = readIfExists(envFile);
  if (env !== undefined) {
    const values = parseEnv(env);
    if (values.MCP_SCALE_CLUSTER_SECRET)
      found.push({
        clusterSecret: values.MCP_SCALE_CLUSTER_SECRET,
        redisPassword: values.MCP_SCALE_REDIS_PASSWORD,
        sentinelPassword: values.MCP_SCALE_SENTINEL_PASSWORD,
        from: envFile,
      });
  }
  const secretFile = path.join(outDir, 'k8s', 'secret.yaml');
  const yaml = readIfExists(secretFile);
  if (yaml !== undefined) {
    for (const document of [parseAllDocuments(yaml)].flat()) {
      const value = document.toJS() as { kind?: string; stringData?: Record<string, string> } | null;
      const data = value?.kind === 'Secret' ? value.stringData : undefined;
      if (data?.['cluster-secret'])
        found.push({
          clusterSecret: data['cluster-secret'],
          redisPassword: data['redis-password'],
          sentinelPassword: data['sentinel-password'],
          from: secretFile,
        });
    }
  }
  const [first, ...rest] = found;
  const differ = (a: string | undefined, b: string | undefined) =>
    a !== undefined && b !== undefined && a !== b;
  for (const other of rest) {
    if (
      other.clusterSecret !== first?.clusterSecret ||
      differ(other.redisPassword, first?.redisPassword) ||
      differ(other.sentinelPassword, first?.sentinelPassword)
    ) {
      throw new UserError(
        `${first?.from} and ${other.from} hold different secrets: keep the one your cluster runs with (or pass --cluster-secret-file, or --rotate-secret)`,
      );
    }
  }
  return first
    ? {
        ...first,
        redisPassword: found.find((f) => f.redisPassword)?.redisPassword,
        sentinelPassword: found.find((f) => f.sentinelPassword)?.sentinelPassword,
      }
    : {};
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `KEY=VALUE` lines (optionally single-quoted values), as the generated .env has them. */
function parseEnv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    let value = match[2] as string;
    if (value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
    values[match[1] as string] = value;
  }
  return values;
}
