/**
 * The ways the device channel fails, each with a stable `code`. Bad frames are typed results of
 * `parseDeviceFrame` (never a throw); the gateway maps them to an `error` frame once, at the edge.
 */
export type DeviceGatewayErrorCode =
  | 'DEVICE_FRAME_INVALID_JSON'
  | 'DEVICE_FRAME_INVALID'
  | 'DEVICE_GATEWAY_CLOSED'
  | 'DEVICE_FRAME_REFUSED'
  | 'DEVICE_FRAME_NOT_RECORDED';

/** The text frame is not JSON. */
export class DeviceFrameJsonError extends Error {
  readonly code = 'DEVICE_FRAME_INVALID_JSON';
  override readonly name = 'DeviceFrameJsonError';

  constructor(readonly reason: string) {
    super(`Device frame is not JSON: ${reason}`);
  }
}

/** The frame is JSON but not a frame of this protocol version (unknown type, missing or wrong field). */
export class DeviceFrameInvalidError extends Error {
  readonly code = 'DEVICE_FRAME_INVALID';
  override readonly name = 'DeviceFrameInvalidError';

  constructor(
    readonly issues: readonly string[],
    /** The frame's `type` when it had a string one, so the error frame can name it. */
    readonly frameType: string | undefined,
  ) {
    super(`Invalid device frame${frameType ? ` (${frameType})` : ''}: ${issues.join('; ')}`);
  }
}

/** The gateway was closed: no further commands are taken. */
export class DeviceGatewayClosedError extends Error {
  readonly code = 'DEVICE_GATEWAY_CLOSED';
  override readonly name = 'DeviceGatewayClosedError';

  constructor() {
    super('Device gateway closed');
  }
}

/**
 * A report or inbound handler's verdict that the frame can never be recorded (a report for a
 * message that does not exist, …). The gateway answers a non-fatal `error` frame with this code
 * and the message, and acks the frame anyway, so the device stops repeating it. The message is
 * shown to the device: it must not carry internal details.
 */
export class DeviceFrameRefusedError extends Error {
  readonly code = 'DEVICE_FRAME_REFUSED';
  override readonly name = 'DeviceFrameRefusedError';
}

/**
 * A report or inbound handler's verdict that the frame cannot be recorded now but may be later
 * (an inbound SMS to a number not bound to the device yet, …). The gateway answers a non-fatal
 * `error` frame with this code and the message and does not ack: the device keeps the frame and
 * repeats it after its next `welcome`. Any other rejection is treated the same way, with a
 * generic message. The message is shown to the device: it must not carry internal details.
 */
export class DeviceFrameNotRecordedError extends Error {
  readonly code = 'DEVICE_FRAME_NOT_RECORDED';
  override readonly name = 'DeviceFrameNotRecordedError';
}

export type DeviceFrameError = DeviceFrameJsonError | DeviceFrameInvalidError;
