import path from 'node:path';
import { UserError } from '../errors.js';
import type { GenOptions } from './types.js';

/**
 * The API keys file of `--auth apikey` in a deployment. `--api-keys` names
 * the path inside the container; gen never reads a keys file. It mounts one
 * from where `--api-keys-secret` says: a Kubernetes Secret (key `api-keys`)
 * or a file beside compose.yaml of that name, or (`placeholder`) one gen
 * writes for the user to fill in.
 */
export interface ApiKeysMount {
  /** The path inside the container (the --api-keys value the roles get). */
  target: string;
  /** Kubernetes Secret name, and the compose secret file beside compose.yaml. */
  secretName: string;
  composeFile: string;
  /** gen writes the Secret / file with placeholder content. */
  placeholder: boolean;
  /** Which tiers read it: gateways always; workers when the proxy reaches them directly. */
  gateways: boolean;
  workers: boolean;
}

export const PLACEHOLDER_SECRET = 'mcp-scale-api-keys';
export const PLACEHOLDER_FILE = 'api-keys.txt';
export const PLACEHOLDER_CONTENT =
  '# mcp-scale API keys: one "key user" per line (or a JSON object {"key": "user"}).\n# Placeholder written by mcp-scale gen: replace these lines with your keys before deploying.\n';

export function apiKeysMount(options: GenOptions, target: 'compose' | 'k8s'): ApiKeysMount | undefined {
  const auth = options.settings.auth;
  if (auth.mode !== 'apikey') return undefined;
  const file = auth.apiKeysFile ?? '';
  if (!path.posix.isAbsolute(file)) {
    throw new UserError(
      `gen ${target}: --api-keys names the file inside the container, give an absolute path such as /run/secrets/api-keys (got '${file}')`,
    );
  }
  const source = options.settings.gen?.apiKeysSecret;
  if (source === undefined) {
    throw new UserError(
      `gen ${target}: --auth apikey needs --api-keys-secret NAME (the Secret or file holding the keys) or --api-keys-secret placeholder`,
    );
  }
  const placeholder = source === 'placeholder';
  if (!placeholder && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(source)) {
    throw new UserError(
      `--api-keys-secret must be a Secret name (lowercase letters, digits, - and .), got '${source}'`,
    );
  }
  return {
    target: file,
    secretName: placeholder ? PLACEHOLDER_SECRET : source,
    composeFile: placeholder ? PLACEHOLDER_FILE : source,
    placeholder,
    gateways: options.affinity === 'gateway',
    workers: options.affinity !== 'gateway',
  };
}
