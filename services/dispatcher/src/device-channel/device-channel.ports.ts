/**
 * What the device channel needs from the rest of the dispatcher, as plain functions, so it does
 * not depend on the repositories (devices, number bindings) or on the presence KV directly.
 */

/** A device as its token finds it. */
export interface DeviceRecord {
  readonly deviceId: string;
  readonly accountId: string;
  /** The device's configured pace; the gateway keeps min(this, the handset's own limit). */
  readonly sendsPerMinute: number;
  /** Numbers bound to the device (`reachctl device bind`), with the SIM slot each one is in. */
  readonly numbers: readonly { readonly e164: string; readonly simSlot: number | null }[];
}

/** One row of the routing table: a number goes out through this device (and SIM slot). */
export interface DeviceBinding {
  readonly e164: string;
  readonly accountId: string;
  readonly deviceId: string;
  /** The slot to send from; null: the device's default SIM. */
  readonly simSlot: number | null;
  readonly sendsPerMinute: number;
}

/**
 * Resolves a presented device token, or null (unknown or revoked). Implementations MUST find the
 * device by `hashDeviceToken(token)` and compare with `deviceTokenHashesEqual` (constant time):
 * tokens are stored only as SHA-256 hashes.
 */
export type FindDeviceByToken = (token: string) => Promise<DeviceRecord | null>;

/** Which of these (connected) devices were revoked since they connected. */
export type FindRevokedDevices = (deviceIds: readonly string[]) => Promise<readonly string[]>;

/** Every number bound to a device (the whole routing table; re-read periodically and on a miss). */
export type LoadDeviceBindings = () => Promise<readonly DeviceBinding[]>;

/** Writes the number's presence (the KV the API reads to answer `dispatched` or `queued`). */
export type SetNumberPresence = (e164: string, online: boolean) => Promise<void>;
