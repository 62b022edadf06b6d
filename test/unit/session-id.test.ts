import { describe, expect, it } from 'vitest';
import { mintSessionId } from '../../src/gateway/sessions/session-record.js';

describe('client-facing session ids', () => {
  it('are 192-bit base64url strings that never start with - or _ (they are pasted as CLI arguments)', () => {
    const ids = Array.from({ length: 20_000 }, () => mintSessionId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{31}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
