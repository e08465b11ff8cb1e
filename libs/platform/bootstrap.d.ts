export { bootstrapService, EXIT_CONFIG, EXIT_UNAVAILABLE } from './dist/bootstrap';
export type { BootstrapOptions } from './dist/bootstrap';
