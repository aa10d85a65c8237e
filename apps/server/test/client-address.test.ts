import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, trustedProxies } from '../src/client-address.js';

function req(peer: string, forwardedFor?: string): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as IncomingMessage;
}

describe('clientAddress', () => {
  const trusted = trustedProxies(['10.0.0.0/8', '192.168.1.1', 'fd00::/8']);

  it('is the TCP peer when it is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientAddress(req('203.0.113.1', '1.1.1.1'), trusted)).toBe('203.0.113.1');
    expect(clientAddress(req('::ffff:203.0.113.1', '1.1.1.1'), trusted)).toBe('203.0.113.1');
    expect(clientAddress(req('10.1.2.3', '1.1.1.1'), trustedProxies([]))).toBe('10.1.2.3');
  });

  it('behind trusted proxies, is the rightmost hop they did not add', () => {
    expect(clientAddress(req('10.1.2.3', '198.51.100.7'), trusted)).toBe('198.51.100.7');
    expect(clientAddress(req('10.1.2.3', 'spoofed, 1.2.3.4, 198.51.100.7, 192.168.1.1'), trusted)).toBe('198.51.100.7');
    expect(clientAddress(req('::ffff:10.1.2.3', '2001:db8::1, fd00::2'), trusted)).toBe('2001:db8::1');
  });

  it('a garbage hop before any untrusted one, no header, or only trusted hops fall back safely', () => {
    expect(clientAddress(req('10.1.2.3', 'not-an-ip'), trusted)).toBe('10.1.2.3');
    expect(clientAddress(req('10.1.2.3'), trusted)).toBe('10.1.2.3');
    expect(clientAddress(req('10.1.2.3', '10.0.0.9, 192.168.1.1'), trusted)).toBe('10.0.0.9');
  });
});
