export { createTestStore, testDatabaseUrl, testNatsUrl, uniqueName } from './database';
export type { TestStore } from './database';
export { waitFor } from './wait';
export { testMetadata } from './metadata';
export { discoverInfrastructure, isListening } from './infrastructure';
export type { Infrastructure } from './infrastructure';
export { startEmbeddedPostgres, freePort } from './embedded-postgres';
export type { EmbeddedPostgres } from './embedded-postgres';
