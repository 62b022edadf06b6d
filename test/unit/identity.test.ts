import { describe, expect, it } from 'vitest';
import { IdentitySigner, identityClaim, sealIdentity, verifyIdentity } from '../../src/cluster/identity.js';

const SECRET = 'unit-test-cluster-secret-0123456789abcdef';
const NOW = 1_800_000_000_000;
const request = { method: 'POST', sessionId: 's-1', body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' };

describe('identity signing', () => {
  it('round-trips every field, and an anonymous identity, through sign and verify', () => {
    const signer = new IdentitySigner(SECRET, () => NOW);
    const full = { user: 'alice', scopes: ['read', 'write'], clientId: 'app', claims: { tenant: 't1' } };
    expect(verifyIdentity(SECRET, signer.sign(full, request), request, NOW)).toEqual({
      ok: true,
      identity: full,
    });
    expect(verifyIdentity(SECRET, signer.sign({}, request), request, NOW)).toEqual({
      ok: true,
      identity: {},
    });
  });

  it('seals each claim for its own identity (the per-claim cache never mixes users)', () => {
    const signer = new IdentitySigner(SECRET, () => NOW);
    for (const user of ['alice', 'bob', 'alice', undefined, 'bob']) {
      const headers = sealIdentity(
        signer,
        { 'x-id': identityClaim({ user }), 'mcp-session-id': 's-1' },
        'x-id',
        request,
      );
      const verified = verifyIdentity(SECRET, headers['x-id']!, request, NOW);
      expect(verified).toEqual({ ok: true, identity: user === undefined ? {} : { user } });
    }
  });

  it('is bound to the request, the secret and the time', () => {
    const signer = new IdentitySigner(SECRET, () => NOW);
    const header = signer.signClaim(identityClaim({ user: 'alice' }), request);
    expect(verifyIdentity(SECRET, header, { ...request, body: '{}' }, NOW)).toMatchObject({ ok: false });
    expect(verifyIdentity(SECRET, header, { ...request, sessionId: 's-2' }, NOW)).toMatchObject({
      ok: false,
    });
    expect(verifyIdentity(`${SECRET}x`, header, request, NOW)).toMatchObject({ ok: false });
    expect(verifyIdentity(SECRET, header, request, NOW + 31_000)).toMatchObject({ ok: false });
  });
});
