export * from './reach-signature';
export * from './reach-cell-signature';
export { constantTimeEqual } from './constant-time-equal';
