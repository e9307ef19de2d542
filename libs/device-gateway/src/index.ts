export * from './device-gateway.errors';
export * from './device-protocol';
export * from './send-pacer';
export * from './device-token';
export * from './device-gateway-server';
export * from './device-simulator';
export * from './simulated-phone-session';
