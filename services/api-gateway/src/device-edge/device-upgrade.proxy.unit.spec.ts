import { forwardedRequestHead } from './device-upgrade.proxy';

describe('forwardedRequestHead', () => {
  const request = (rawHeaders: string[]) => ({ method: 'GET', url: '/v1/device', httpVersion: '1.1', rawHeaders });

  it('keeps the request line and every header as received, Authorization included, and adds X-Forwarded-For', () => {
    const head = forwardedRequestHead(request(['Host', 'edge', 'Upgrade', 'websocket', 'Connection', 'Upgrade', 'authorization', 'Bearer dt_x']), '198.51.100.4');
    expect(head).toBe('GET /v1/device HTTP/1.1\r\nHost: edge\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nauthorization: Bearer dt_x\r\nX-Forwarded-For: 198.51.100.4\r\n\r\n');
  });

  it('folds earlier X-Forwarded-For headers into one, the device address last', () => {
    const head = forwardedRequestHead(request(['x-forwarded-for', '203.0.113.7', 'Host', 'edge', 'X-Forwarded-For', '10.0.0.1, 10.0.0.2']), '10.0.0.3');
    expect(head.split('\r\n')).toEqual(['GET /v1/device HTTP/1.1', 'Host: edge', 'X-Forwarded-For: 203.0.113.7, 10.0.0.1, 10.0.0.2, 10.0.0.3', '', '']);
  });

  it('passes an existing X-Forwarded-For on when the socket address is unknown', () => {
    expect(forwardedRequestHead(request(['X-Forwarded-For', '203.0.113.7']), undefined)).toBe('GET /v1/device HTTP/1.1\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n');
    expect(forwardedRequestHead(request([]), undefined)).toBe('GET /v1/device HTTP/1.1\r\n\r\n');
  });
});
