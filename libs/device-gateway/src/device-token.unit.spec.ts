import { deviceTokenHashesEqual, hashDeviceToken } from './device-token';

describe('device token hashes', () => {
  it('hashes with SHA-256 hex', () => {
    expect(hashDeviceToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('compares hashes', () => {
    expect(deviceTokenHashesEqual(hashDeviceToken('a'), hashDeviceToken('a'))).toBe(true);
    expect(deviceTokenHashesEqual(hashDeviceToken('a'), hashDeviceToken('b'))).toBe(false);
    expect(deviceTokenHashesEqual(hashDeviceToken('a'), 'abcd')).toBe(false);
    expect(deviceTokenHashesEqual('', '')).toBe(false);
  });
});
