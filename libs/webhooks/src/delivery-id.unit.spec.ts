import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { deliveryIdFor, STATUS_CALLBACK_TARGET, webhookTarget } from './delivery-id';

/** RFC 9562: version 8 (custom) in the 13th hex digit, variant 10xx in the 17th. */
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('deliveryIdFor', () => {
  const eventId = '0f6f3d1e-6c1b-4a51-9d0e-3c8b1f1d2a40';

  it('is deterministic', () => {
    expect(deliveryIdFor(eventId, STATUS_CALLBACK_TARGET)).toBe(deliveryIdFor(eventId, STATUS_CALLBACK_TARGET));
    expect(deliveryIdFor(eventId, webhookTarget('w1'))).toBe(deliveryIdFor(eventId, webhookTarget('w1')));
  });

  it('is a version-8, variant-10xx UUID', () => {
    const id = deliveryIdFor(eventId, STATUS_CALLBACK_TARGET);
    expect(id).toMatch(UUID_V8);
    const bytes = Buffer.from(id.replace(/-/g, ''), 'hex');
    expect(bytes).toHaveLength(16);
    expect(bytes[6]! >> 4).toBe(0x8);
    expect(bytes[8]! >> 6).toBe(0b10);
  });

  it('keeps the other 122 bits of the SHA-256 of (event, target)', () => {
    const hex = createHash('sha256').update(`reach-delivery:v1:${eventId}:${STATUS_CALLBACK_TARGET}`).digest('hex');
    const id = deliveryIdFor(eventId, STATUS_CALLBACK_TARGET).replace(/-/g, '');
    expect(id.slice(0, 12)).toBe(hex.slice(0, 12));
    expect(id.slice(13, 16)).toBe(hex.slice(13, 16));
    expect(parseInt(id.charAt(16), 16) & 0x3).toBe(parseInt(hex.charAt(16), 16) & 0x3);
    expect(id.slice(17)).toBe(hex.slice(17, 32));
  });

  it('differs per event and per target', () => {
    const ids = new Set([
      deliveryIdFor(eventId, STATUS_CALLBACK_TARGET),
      deliveryIdFor(eventId, webhookTarget('w1')),
      deliveryIdFor(eventId, webhookTarget('w2')),
      deliveryIdFor('another-event', STATUS_CALLBACK_TARGET),
      deliveryIdFor('another-event', webhookTarget('w1')),
    ]);
    expect(ids.size).toBe(5);
  });

  it('names its targets', () => {
    expect(STATUS_CALLBACK_TARGET).toBe('status-callback');
    expect(webhookTarget('5b1c')).toBe('webhook:5b1c');
  });

  it('property: always a v8 UUID, the same for the same input, different for a different event or target', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (event, target, other) => {
        const id = deliveryIdFor(event, target);
        expect(id).toMatch(UUID_V8);
        expect(deliveryIdFor(event, target)).toBe(id);
        if (other !== event) expect(deliveryIdFor(other, target)).not.toBe(id);
        if (other !== target) expect(deliveryIdFor(event, other)).not.toBe(id);
      }),
    );
  });
});
