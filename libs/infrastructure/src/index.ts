export * from './message-command.executor';
export * from './message-event-metadata';
export * from './platform-connections';
export * from './platform.module';
export * from './phone-presence.provider';
export * from './start-platform-service';
