export * from './message-view';
export * from './recorded-message-event';
export * from './checkpoints.repository';
export * from './messages.projection';
export * from './projection-runner';
export * from './message.queries';
export * from './reachcell-message.presenter';
