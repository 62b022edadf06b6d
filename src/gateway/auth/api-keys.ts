import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { UserError } from '../../errors.js';
import type { AuthResult, Authenticator } from '../admission.js';
import { presentedCredential, unauthorized, type ChallengeOptions } from './challenge.js';

/**
 * `--auth apikey --api-keys FILE`. The file is a JSON object
 * `{"<key>": "<user>"}` or lines `<key> <user>` (blank lines and `#`
 * comments ignored). Keys are kept only as SHA-256 digests, and a
 * presented key is looked up by its digest, so neither memory dumps nor
 * lookup timing reveal a key.
 */
export function parseApiKeys(text: string, source = 'the API keys file'): Map<string, string> {
  const pairs: [string, string][] = [];
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new UserError(`${source} is not valid JSON: ${(error as Error).message}`);
    }
    for (const [key, user] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof user !== 'string' || !user)
        throw new UserError(`${source}: the user of a key must be a non-empty string`);
      pairs.push([key, user]);
    }
  } else {
    trimmed.split(/\r?\n/).forEach((line, index) => {
      const content = line.trim();
      if (!content || content.startsWith('#')) return;
      const [key, user, ...rest] = content.split(/\s+/);
      if (!key || !user || rest.length > 0) {
        throw new UserError(`${source} line ${index + 1}: expected "<key> <user>"`);
      }
      pairs.push([key, user]);
    });
  }
  const byDigest = new Map<string, string>();
  for (const [key, user] of pairs) {
    if (key.length < 8) throw new UserError(`${source}: key for ${user} is shorter than 8 characters`);
    byDigest.set(digest(key), user);
  }
  if (byDigest.size === 0) throw new UserError(`${source} holds no keys`);
  return byDigest;
}

export function loadApiKeys(file: string): Map<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read --api-keys ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  return parseApiKeys(text, `--api-keys ${file}`);
}

export class ApiKeyAuthenticator implements Authenticator {
  constructor(
    private readonly users: Map<string, string>,
    private readonly challenge: ChallengeOptions = {},
  ) {}

  async authenticate(req: IncomingMessage): Promise<AuthResult> {
    const key = presentedCredential(req);
    if (key === undefined) return unauthorized(this.challenge);
    const user = this.users.get(digest(key));
    if (user === undefined) return unauthorized(this.challenge, { description: 'unknown API key' });
    return { ok: true, user, verified: true, identity: { user } };
  }
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
