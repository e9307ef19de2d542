import { z } from 'zod';
import { DeviceFrameInvalidError, DeviceFrameJsonError, type DeviceFrameError } from './device-gateway.errors';

/**
 * The device protocol, version 1 (docs/device-protocol.md): JSON text frames over WebSocket, each
 * `{ v: 1, type, … }`. Both directions are parsed at the edge with these schemas; a frame that
 * does not parse is a typed error, answered with an `error` frame, never a crash.
 */
export const DEVICE_PROTOCOL_VERSION = 1;

const v = z.literal(DEVICE_PROTOCOL_VERSION);
const id = z.string().min(1).max(200);
const e164 = z.string().regex(/^\+[1-9]\d{1,14}$/, 'E.164 number expected');
const isoTime = z.iso.datetime({ offset: true });

export const simSchema = z.object({
  slot: z.number().int().min(0).max(7),
  number: e164.optional(),
});

// ---- device → server -------------------------------------------------------------------------

export const helloFrameSchema = z.object({
  v,
  type: z.literal('hello'),
  sims: z.array(simSchema).min(1).max(8),
  /** What the handset itself allows; the gateway paces at min(this, the device's configured rate). */
  maxSendsPerMinute: z.number().int().min(1).max(10_000),
  appVersion: z.string().max(100).optional(),
});

export const deviceHeartbeatFrameSchema = z.object({ v, type: z.literal('heartbeat'), at: isoTime });

const reportBase = { v, commandId: id, messageId: id, at: isoTime };
export const acceptedFrameSchema = z.object({ ...reportBase, type: z.literal('accepted') });
export const sentFrameSchema = z.object({ ...reportBase, type: z.literal('sent') });
export const deliveredFrameSchema = z.object({ ...reportBase, type: z.literal('delivered') });
export const failedFrameSchema = z.object({
  ...reportBase,
  type: z.literal('failed'),
  /** Machine-readable: `generic`, `no-service`, `radio-off`, `null-pdu`, `limit-exceeded`, `rejected`, … */
  reason: z.string().min(1).max(100),
  detail: z.string().max(500).optional(),
});

export const inboundFrameSchema = z.object({
  v,
  type: z.literal('inbound'),
  /** The device's own id for this SMS: the dedupe key (the device re-sends until acked). */
  inboundId: id,
  from: z.string().min(1).max(32),
  to: e164.optional(),
  sim: z.number().int().min(0).max(7).optional(),
  body: z.string().max(10_000),
  receivedAt: isoTime,
});

export const deviceFrameSchema = z.discriminatedUnion('type', [
  helloFrameSchema,
  deviceHeartbeatFrameSchema,
  acceptedFrameSchema,
  sentFrameSchema,
  deliveredFrameSchema,
  failedFrameSchema,
  inboundFrameSchema,
]);

// ---- server → device -------------------------------------------------------------------------

export const welcomeFrameSchema = z.object({
  v,
  type: z.literal('welcome'),
  deviceId: id,
  heartbeatIntervalMs: z.number().int().positive(),
  heartbeatTimeoutMs: z.number().int().positive(),
  sendsPerMinute: z.number().positive(),
});

export const serverHeartbeatFrameSchema = z.object({ v, type: z.literal('heartbeat'), at: isoTime });

export const sendFrameSchema = z.object({
  v,
  type: z.literal('send'),
  commandId: id,
  messageId: id,
  destination: e164,
  body: z.string().min(1).max(10_000),
  segments: z.number().int().min(1).max(255),
  sim: z.number().int().min(0).max(7).optional(),
  /** The end of the message's validity: a device must not send it after this (it reports `failed`, reason `expired`). */
  expiresAt: isoTime.optional(),
});

export const reportStepSchema = z.enum(['accepted', 'sent', 'delivered', 'failed']);

export const ackFrameSchema = z.discriminatedUnion('of', [
  z.object({ v, type: z.literal('ack'), of: z.literal('report'), messageId: id, step: reportStepSchema }),
  z.object({ v, type: z.literal('ack'), of: z.literal('inbound'), inboundId: id }),
]);

export const errorFrameSchema = z.object({
  v,
  type: z.literal('error'),
  code: z.string().min(1),
  message: z.string(),
  /** The server closes the socket after a fatal error. */
  fatal: z.boolean(),
});

export const serverFrameSchema = z.union([welcomeFrameSchema, serverHeartbeatFrameSchema, sendFrameSchema, ackFrameSchema, errorFrameSchema]);

export type Sim = z.infer<typeof simSchema>;
export type HelloFrame = z.infer<typeof helloFrameSchema>;
export type AcceptedFrame = z.infer<typeof acceptedFrameSchema>;
export type SentFrame = z.infer<typeof sentFrameSchema>;
export type DeliveredFrame = z.infer<typeof deliveredFrameSchema>;
export type FailedFrame = z.infer<typeof failedFrameSchema>;
export type ReportFrame = AcceptedFrame | SentFrame | DeliveredFrame | FailedFrame;
export type ReportStep = z.infer<typeof reportStepSchema>;
export type InboundFrame = z.infer<typeof inboundFrameSchema>;
export type DeviceFrame = z.infer<typeof deviceFrameSchema>;
export type WelcomeFrame = z.infer<typeof welcomeFrameSchema>;
export type SendFrame = z.infer<typeof sendFrameSchema>;
export type AckFrame = z.infer<typeof ackFrameSchema>;
export type ErrorFrame = z.infer<typeof errorFrameSchema>;
export type ServerFrame = z.infer<typeof serverFrameSchema>;

export type FrameParseResult<T> = { readonly ok: true; readonly frame: T } | { readonly ok: false; readonly error: DeviceFrameError };

function parseWith<T>(schema: z.ZodType<T>, text: string): FrameParseResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: new DeviceFrameJsonError(error instanceof Error ? error.message : String(error)) };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, frame: result.data };
  const type = typeof json === 'object' && json !== null && typeof (json as { type?: unknown }).type === 'string' ? (json as { type: string }).type : undefined;
  const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(frame)'}: ${issue.message}`);
  return { ok: false, error: new DeviceFrameInvalidError(issues, type) };
}

/** Parses a device → server text frame. Never throws. */
export function parseDeviceFrame(text: string): FrameParseResult<DeviceFrame> {
  return parseWith(deviceFrameSchema, text);
}

/** Parses a server → device text frame (the simulator's side). Never throws. */
export function parseServerFrame(text: string): FrameParseResult<ServerFrame> {
  return parseWith(serverFrameSchema, text);
}

/** Distributive Omit, so a frame union keeps its discrimination without `v`. */
type WithoutVersion<T> = T extends unknown ? Omit<T, 'v'> : never;

/** Serializes a frame, stamping the protocol version. */
export function serializeFrame(frame: WithoutVersion<DeviceFrame> | WithoutVersion<ServerFrame>): string {
  return JSON.stringify({ v: DEVICE_PROTOCOL_VERSION, ...frame });
}

export function isReportFrame(frame: DeviceFrame): frame is ReportFrame {
  return frame.type === 'accepted' || frame.type === 'sent' || frame.type === 'delivered' || frame.type === 'failed';
}

/** The dedupe key of a report: a report is applied once per message id + step. */
export function reportKey(messageId: string, step: ReportStep): string {
  return `${messageId}\u0000${step}`;
}
