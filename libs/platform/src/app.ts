import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';

/** A Nest root module: a module class or a dynamic module. */
export type RootModule = Type<unknown> | DynamicModule;

/**
 * Creates (without listening) a Nest HTTP application for `module`, which must import
 * `PlatformModule.forRoot(...)`. Framework logs are buffered until the pino logger is in place,
 * so every line is JSON. Used by `bootstrapService` and by in-process integration specs.
 */
export async function createPlatformApp(module: RootModule): Promise<INestApplication> {
  const app = await NestFactory.create(module, { bufferLogs: true });
  (app.getHttpAdapter().getInstance() as { disable(setting: string): void }).disable('x-powered-by');
  app.useLogger(app.get(Logger));
  app.flushLogs();
  return app;
}
