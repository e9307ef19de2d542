import { z } from 'zod';

/**
 * The JSON envelope every relayed event arrives in (docs/events.md, "The envelope"). The
 * platform's own copy of this schema is `RelayedEvent` in @reach/messaging, which this example
 * may not import; envelope.unit.spec.ts checks that the two describe the same JSON.
 *
 * `revision` and `position` are strings because they are 64-bit numbers. Fields added later
 * (additive changes within v1) are dropped by `parse`, as every consumer must ignore them.
 */
export const Envelope = z.object({
  eventId: z.uuid(),
  type: z.string().min(1),
  streamId: z.string().min(1),
  revision: z.string().regex(/^\d+$/, 'revision: a non-negative integer as a decimal string'),
  position: z.string().regex(/^\d+\/\d+$/, 'position: "commit/prepare" as decimal strings'),
  data: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime({ offset: true }),
});
export type Envelope = z.infer<typeof Envelope>;
