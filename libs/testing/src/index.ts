export * from './test-infrastructure';
export * from './independent-signatures';
export * from './prometheus-text';
