export * from './smpp.errors';
export * from './message-encoding';
export * from './delivery-receipt';
export * from './mo-reassembly';
export * from './smpp-address';
export { SmppStatus, describeCommandStatus } from './smpp-facade';
export * from './token-bucket';
export * from './smpp-bind';
export * from './smsc-simulator';
