import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ApiKeyAuthenticator, parseApiKeys, presentedCredential } from '../../src/gateway/auth/index.js';
import { UserError } from '../../src/errors.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('API keys file', () => {
  it('reads a JSON object and lines "key user" alike (comments and blank lines ignored)', async () => {
    for (const text of [
      '{"k-alice-1234": "alice", "k-bob-12345": "bob"}',
      '# keys\nk-alice-1234 alice\n\n  k-bob-12345\tbob  \n',
    ]) {
      const auth = new ApiKeyAuthenticator(parseApiKeys(text));
      // Verified: the credential stops at the gateway, the identity goes on.
      expect(await auth.authenticate(req({ 'x-api-key': 'k-alice-1234' }))).toEqual({
        ok: true,
        user: 'alice',
        verified: true,
        identity: { user: 'alice' },
      });
      expect(await auth.authenticate(req({ authorization: 'Bearer k-bob-12345' }))).toEqual({
        ok: true,
        user: 'bob',
        verified: true,
        identity: { user: 'bob' },
      });
      expect(await auth.authenticate(req({ 'x-api-key': 'k-carol-123' }))).toMatchObject({
        ok: false,
        status: 401,
      });
    }
  });

  it('refuses files it cannot trust, with the line number', () => {
    expect(() => parseApiKeys('{"k-1234567": 5}')).toThrow(UserError);
    expect(() => parseApiKeys('k-alice-1234 alice extra')).toThrow(/line 1/);
    expect(() => parseApiKeys('short alice')).toThrow(/shorter than 8/);
    expect(() => parseApiKeys('# nothing\n')).toThrow(/no keys/);
    expect(() => parseApiKeys('{not json')).toThrow(/not valid JSON/);
  });

  it('takes credentials from Authorization: Bearer first, then X-API-Key', () => {
    expect(presentedCredential(req({ authorization: 'Bearer abc', 'x-api-key': 'def' }))).toBe('abc');
    expect(presentedCredential(req({ authorization: 'Basic Zm9v', 'x-api-key': 'def' }))).toBe('def');
    expect(presentedCredential(req({ authorization: 'bearer   xyz ' }))).toBe('xyz');
    expect(presentedCredential(req({}))).toBeUndefined();
  });
});
