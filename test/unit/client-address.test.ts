import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddressOf, ProxyTrust, proxyTrustFor } from '../../src/http/client-address.js';

function request(peer: string, xff?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  } as unknown as IncomingMessage;
}

describe('client address: the rightmost untrusted X-Forwarded-For hop (nginx real_ip_recursive)', () => {
  const defaults = proxyTrustFor(true)!;

  it('no trust: the socket peer, whatever the header says', () => {
    expect(clientAddressOf(request('10.0.0.5', '6.6.6.6'), undefined)).toBe('10.0.0.5');
    expect(proxyTrustFor(false)).toBeUndefined();
  });

  it('an untrusted peer is the client: its header is ignored', () => {
    expect(defaults.clientAddress(request('203.0.113.4', '6.6.6.6'))).toBe('203.0.113.4');
  });

  it('skips trusted hops from the right and stops at the first untrusted one', () => {
    expect(defaults.clientAddress(request('127.0.0.1', '6.6.6.6, 198.51.100.7, 10.1.2.3'))).toBe(
      '198.51.100.7',
    );
    // Two header lines count as one list, in order.
    expect(defaults.clientAddress(request('10.0.0.1', ['6.6.6.6', '198.51.100.8']))).toBe('198.51.100.8');
  });

  it('all hops trusted: the leftmost one; no header: the peer', () => {
    expect(defaults.clientAddress(request('127.0.0.1', '192.168.1.10, 10.0.0.2'))).toBe('192.168.1.10');
    expect(defaults.clientAddress(request('127.0.0.1'))).toBe('127.0.0.1');
  });

  it('garbage stops the walk at the last real hop', () => {
    expect(defaults.clientAddress(request('127.0.0.1', 'evil, not-an-ip'))).toBe('127.0.0.1');
    expect(defaults.clientAddress(request('127.0.0.1', 'not-an-ip, 198.51.100.9'))).toBe('198.51.100.9');
  });

  it('--trust-proxy covers loopback and private ranges, IPv4-mapped IPv6 and IPv6 ULAs', () => {
    for (const address of [
      '127.0.0.1',
      '10.2.3.4',
      '172.20.0.1',
      '192.168.0.9',
      '::1',
      '::ffff:10.0.0.1',
      'fd00::1',
    ])
      expect(defaults.trusts(address), address).toBe(true);
    for (const address of ['8.8.8.8', '172.32.0.1', '2001:db8::1', '::ffff:8.8.8.8'])
      expect(defaults.trusts(address), address).toBe(false);
  });

  it('--trusted-proxies narrows the trust to its ranges', () => {
    const narrow = proxyTrustFor(false, ['10.0.0.0/24', '2001:db8::5'])!;
    expect(narrow.trusts('10.0.0.200')).toBe(true);
    expect(narrow.trusts('10.0.1.1')).toBe(false);
    expect(narrow.trusts('127.0.0.1')).toBe(false);
    expect(narrow.trusts('2001:db8::5')).toBe(true);
    expect(narrow.clientAddress(request('10.0.0.3', '6.6.6.6, 192.168.1.1'))).toBe('192.168.1.1');
  });

  it('a bad range is one clear error naming the flag', () => {
    for (const bad of ['10.0.0.0/33', 'nope', '10.0.0.0/8/1', '::1/129', '10.0.0.0/x'])
      expect(() => new ProxyTrust([bad]), bad).toThrow(
        /--trusted-proxies: '.*' is not an IP address or CIDR/,
      );
  });
});
