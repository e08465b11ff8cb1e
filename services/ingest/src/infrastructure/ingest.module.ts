import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server, IncomingMessage, ServerResponse } from 'node:http';
import { EVENT_STORE, EventBusModule } from '@antibody/bus/nest';
import type { EventStore, Subscription } from '@antibody/event-store';
import { HealthChecks, MetricsService, PG_POOL, PLATFORM_CONFIG, PlatformModule, type BaseServiceConfig, type PlatformModuleOptions } from '@antibody/platform';
import type { Pool } from 'pg';
import { DEFAULT_INGEST_SETTINGS, type IngestSettings } from './config';
import { ReleaseCountsRoute } from './counts-route';
import { DocsController } from './docs.controller';
import { IntakeHttp } from './http-intake';
import { IntakeWriter } from './intake';
import { NativeErrorsRoute } from './native-route';
import { OtlpRoute } from './otlp-route';
import { IntakeProcessor } from './processor';
import { ProcessorThread } from './processor-thread';
import { Registry, startRegistryProjection } from './registry';
import { migrateIngestSchema } from './schema';
import { SourceMapStore } from './source-map-store';

const INGEST_SETTINGS = Symbol('antibody.ingest.settings');

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Runs the intake: creates ingest's tables, projects keys/services/resolutions, serves the intake
 * routes straight from the HTTP server (see IntakeHttp), and processes stored reports into
 * incidents and counts.
 */
@Injectable()
export class IngestRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Ingest');
  private subscription: Subscription | undefined;
  private registry: Registry | undefined;
  private processor: IntakeProcessor | undefined;
  private thread: ProcessorThread | undefined;

  constructor(
    @Inject(INGEST_SETTINGS) private readonly settings: IngestSettings,
    @Inject(PLATFORM_CONFIG) private readonly config: BaseServiceConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly metrics: MetricsService,
    private readonly adapterHost: HttpAdapterHost,
    private readonly healthChecks: HealthChecks,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const schema = this.config.ANTIBODY_SCHEMA;
    await migrateIngestSchema(this.pool, schema);
    const warn = (what: string) => (error: unknown) => this.logger.warn(`${what}: ${describe(error)}`);
    this.subscription = startRegistryProjection(this.store, schema, warn('registry projection'));
    this.registry = new Registry(this.pool, schema, warn('registry refresh'));
    await this.registry.start();

    const accepted = this.metrics.counter({ name: 'antibody_ingest_accepted_total', help: 'Reports durably accepted, by source and kind.', labelNames: ['source', 'kind'] });
    const rejected = this.metrics.counter({ name: 'antibody_ingest_rejected_total', help: 'Intake requests answered with an error, by route and reason.', labelNames: ['route', 'reason'] });
    const processed = this.metrics.counter({ name: 'antibody_ingest_processed_total', help: 'Stored reports turned into incidents and counts.' });
    // Where an intake request's time goes: waiting for a write slot, then the INSERT and its commit.
    const commitSeconds = this.metrics.histogram({
      name: 'antibody_ingest_intake_commit_seconds',
      help: 'Time of each intake write, from sending its INSERT to its commit (durable), in seconds.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5],
    });
    const batchRows = this.metrics.histogram({
      name: 'antibody_ingest_intake_batch_rows',
      help: 'Reports per intake write (group commit: requests arriving during a write share the next one).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    });
    const writer = new IntakeWriter(this.pool, schema);
    writer.onCommitted((batch) => {
      commitSeconds.observe(batch.seconds);
      batchRows.observe(batch.rows);
    });
    const http = new IntakeHttp(this.settings, this.registry, writer, {
      accepted: (source, kind, count) => accepted.inc({ source, kind }, count),
      rejected: (route, reason) => rejected.inc({ route, reason }),
      served: (method, route, status, seconds) => this.metrics.httpRequestDuration.observe({ method, route, status_code: String(status) }, seconds),
    });
    http.addRoute(/^\/v1\/errors\/?$/, new NativeErrorsRoute(this.settings));
    http.addRoute(/^\/v1\/(logs|traces)\/?$/, new OtlpRoute(this.settings));
    http.addRoute(/^\/v1\/releases\/counts\/?$/, new ReleaseCountsRoute(this.pool, schema, this.settings));

    const producer = { service: 'ingest', instance: this.config.SERVICE_INSTANCE_ID };
    const sourceRoot = this.settings.INGEST_SOURCE_ROOT ?? process.cwd();
    if (this.settings.INGEST_PROCESSING === 'thread') {
      // Processing runs on an event loop (and pool) of its own: see ProcessorThread.
      this.thread = new ProcessorThread(
        {
          databaseUrl: this.config.DATABASE_URL,
          schema,
          serviceName: 'antibody-ingest',
          producer,
          samplesPerIncident: this.settings.INGEST_SAMPLES_PER_INCIDENT,
          bucketSeconds: this.settings.INGEST_BUCKET_SECONDS,
          keepProcessedHours: this.settings.INGEST_KEEP_PROCESSED_HOURS,
          vacuumAfterRows: this.settings.INGEST_INTAKE_VACUUM_ROWS,
          sourceRoot,
          poolSize: 3,
          // A steady flow is processed in batches of up to 100 ms of reports, not one per commit.
          minBatchIntervalMs: 100,
        },
        {
          onProcessed: (count) => processed.inc(count),
          warn: (message) => this.logger.warn(message),
          error: (message) => this.logger.error(message),
        },
      );
      writer.onCommitted(() => this.thread?.wake());
      this.thread.start();
      // A dead processor thread (being restarted) is reported, but the instance stays ready: its
      // reports are still stored, and any instance's processor counts them.
      const thread = this.thread;
      this.healthChecks.add('processor', () => thread.health(), { gatesReadiness: false });
    } else {
      this.processor = new IntakeProcessor(this.pool, this.store, this.registry, new SourceMapStore(sourceRoot), {
        schema,
        producer,
        samplesPerIncident: this.settings.INGEST_SAMPLES_PER_INCIDENT,
        bucketSeconds: this.settings.INGEST_BUCKET_SECONDS,
        keepProcessedHours: this.settings.INGEST_KEEP_PROCESSED_HOURS,
        vacuumAfterRows: this.settings.INGEST_INTAKE_VACUUM_ROWS,
        onError: (error, what) => this.logger.warn(`${what}: ${describe(error)}`),
        onProcessed: (count) => processed.inc(count),
      });
      writer.onCommitted(() => this.processor?.wake());
      this.processor.start();
    }

    // Intake routes are answered before Express sees the request (see IntakeHttp for why).
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    const others = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (http.matches(req)) {
        void http.serve(req, res);
        return;
      }
      for (const listener of others) listener(req, res);
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.thread?.stop();
    await this.processor?.stop();
    await this.subscription?.stop();
    this.registry?.stop();
  }
}

/**
 * Root module of antibody-ingest: the platform (config, Postgres, NATS, /health, /metrics, logs),
 * the event bus (the migrated store and the relay), the intake runtime and the API docs at `/docs`.
 */
@Module({})
export class IngestModule {
  static forRoot(platform: PlatformModuleOptions, settings: IngestSettings = DEFAULT_INGEST_SETTINGS): DynamicModule {
    return {
      module: IngestModule,
      // Ready while Postgres takes reports, whatever NATS does (the relay catches up once it is back).
      imports: [PlatformModule.forRoot({ readyNeeds: ['postgres'], ...platform }), EventBusModule.forRoot({ durable: 'ingest', relay: true })],
      controllers: [DocsController],
      providers: [{ provide: INGEST_SETTINGS, useValue: settings }, IngestRuntime],
    };
  }
}
