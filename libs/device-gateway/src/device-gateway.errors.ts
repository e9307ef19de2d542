/**
 * The ways the device channel fails, each with a stable `code`. Bad frames are typed results of
 * `parseDeviceFrame` (never a throw); the gateway maps them to an `error` frame once, at the edge.
 */
export type DeviceGatewayErrorCode = 'DEVICE_FRAME_INVALID_JSON' | 'DEVICE_FRAME_INVALID' | 'DEVICE_GATEWAY_CLOSED';

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

export type DeviceFrameError = DeviceFrameJsonError | DeviceFrameInvalidError;
