export { bootstrapService, EXIT_CONFIG, EXIT_UNAVAILABLE, baseServiceConfigSchema, loadConfig } from './dist/bootstrap';
export type { BootstrapOptions, BaseServiceConfig } from './dist/bootstrap';
