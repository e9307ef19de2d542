export * from './test-infrastructure';
export * from './independent-signatures';
