import { DeviceFrameInvalidError, DeviceFrameJsonError } from './device-gateway.errors';
import { parseDeviceFrame, parseServerFrame, reportKey, serializeFrame } from './device-protocol';

const at = '2026-11-22T10:00:00.000Z';

describe('device protocol frames', () => {
  it('parses every device → server frame type', () => {
    const frames = [
      { v: 1, type: 'hello', sims: [{ slot: 0, number: '+15550001111' }, { slot: 1 }], maxSendsPerMinute: 30 },
      { v: 1, type: 'heartbeat', at },
      { v: 1, type: 'accepted', commandId: 'c1', messageId: 'm1', at },
      { v: 1, type: 'sent', commandId: 'c1', messageId: 'm1', at },
      { v: 1, type: 'delivered', commandId: 'c1', messageId: 'm1', at },
      { v: 1, type: 'failed', commandId: 'c1', messageId: 'm1', at, reason: 'no-service', detail: 'RESULT_ERROR_NO_SERVICE' },
      { v: 1, type: 'inbound', inboundId: 'i1', from: '+15550002222', to: '+15550001111', sim: 0, body: 'hi', receivedAt: at },
    ];
    for (const frame of frames) {
      const parsed = parseDeviceFrame(JSON.stringify(frame));
      expect(parsed).toEqual({ ok: true, frame });
    }
  });

  it('parses every server → device frame type', () => {
    const frames = [
      { v: 1, type: 'welcome', deviceId: 'd1', heartbeatIntervalMs: 15000, heartbeatTimeoutMs: 45000, sendsPerMinute: 30 },
      { v: 1, type: 'heartbeat', at },
      { v: 1, type: 'send', commandId: 'c1', messageId: 'm1', destination: '+15550002222', body: 'hello', segments: 1, sim: 0 },
      { v: 1, type: 'send', commandId: 'c2', messageId: 'm2', destination: '+15550002222', body: 'hello', segments: 1, expiresAt: at },
      { v: 1, type: 'ack', of: 'report', messageId: 'm1', step: 'sent' },
      { v: 1, type: 'ack', of: 'inbound', inboundId: 'i1' },
      { v: 1, type: 'error', code: 'DEVICE_FRAME_INVALID', message: 'bad', fatal: false },
    ];
    for (const frame of frames) expect(parseServerFrame(JSON.stringify(frame))).toEqual({ ok: true, frame });
  });

  it('round-trips through serializeFrame, which stamps the version', () => {
    const text = serializeFrame({ type: 'sent', commandId: 'c1', messageId: 'm1', at });
    expect(JSON.parse(text)).toEqual({ v: 1, type: 'sent', commandId: 'c1', messageId: 'm1', at });
    expect(parseDeviceFrame(text).ok).toBe(true);
  });

  it('returns a typed error for text that is not JSON', () => {
    const parsed = parseDeviceFrame('{nope');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error).toBeInstanceOf(DeviceFrameJsonError);
      expect(parsed.error.code).toBe('DEVICE_FRAME_INVALID_JSON');
    }
  });

  it.each([
    ['unknown type', { v: 1, type: 'reboot' }, 'reboot'],
    ['wrong version', { v: 2, type: 'heartbeat', at }, 'heartbeat'],
    ['missing messageId', { v: 1, type: 'sent', commandId: 'c1', at }, 'sent'],
    ['failed without reason', { v: 1, type: 'failed', commandId: 'c1', messageId: 'm1', at }, 'failed'],
    ['hello without sims', { v: 1, type: 'hello', sims: [], maxSendsPerMinute: 30 }, 'hello'],
    ['bad timestamp', { v: 1, type: 'heartbeat', at: 'yesterday' }, 'heartbeat'],
    ['not an object', [1, 2], undefined],
  ])('returns a typed error for an invalid frame: %s', (_name, frame, type) => {
    const parsed = parseDeviceFrame(JSON.stringify(frame));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error).toBeInstanceOf(DeviceFrameInvalidError);
      expect(parsed.error.code).toBe('DEVICE_FRAME_INVALID');
      expect((parsed.error as DeviceFrameInvalidError).frameType).toBe(type);
    }
  });

  it('rejects a send with a destination that is not E.164', () => {
    const parsed = parseServerFrame(JSON.stringify({ v: 1, type: 'send', commandId: 'c', messageId: 'm', destination: '0555', body: 'x', segments: 1 }));
    expect(parsed.ok).toBe(false);
  });

  it('rejects a send whose expiresAt is not an ISO date-time', () => {
    const parsed = parseServerFrame(
      JSON.stringify({ v: 1, type: 'send', commandId: 'c', messageId: 'm', destination: '+15550002222', body: 'x', segments: 1, expiresAt: 'tomorrow' }),
    );
    expect(parsed.ok).toBe(false);
  });

  it('keys reports by message id and step', () => {
    expect(reportKey('m1', 'sent')).toBe(reportKey('m1', 'sent'));
    expect(reportKey('m1', 'sent')).not.toBe(reportKey('m1', 'delivered'));
    expect(reportKey('m1', 'sent')).not.toBe(reportKey('m2', 'sent'));
  });
});
