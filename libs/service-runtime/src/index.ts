export * from './config-parsing';
export * from './logger';
export * from './health';
export * from './bootstrap';
export * from './http-metrics';
