export * from './message-events';
export * from './message-status';
export * from './streams';
export * from './commands';
