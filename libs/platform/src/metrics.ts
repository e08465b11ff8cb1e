import { Controller, Get, Header, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';
import { serviceDisplayName } from './config';

/** Prefix of every Antibody metric name. */
export const METRIC_PREFIX = 'antibody_';

/**
 * Labels Prometheus sets on every scraped series itself (the target's `instance` and `job`); a
 * metric carrying one of them would clash at ingestion, so none of ours may.
 */
export const RESERVED_METRIC_LABELS: readonly string[] = ['instance', 'job'];

/**
 * The service's Prometheus registry. Every metric carries the labels `service`
 * (`antibody-ingest`) and `service_instance` (the `SERVICE_INSTANCE_ID`; never `instance` or
 * `job`, which Prometheus sets itself). The standard Node process metrics keep their standard
 * names (`process_*`, `nodejs_*`, as prom-client's `collectDefaultMetrics` names them), so stock
 * Node.js dashboards work; `antibody_http_request_duration_seconds` is registered from the start.
 *
 * Other modules inject it and add their own metrics with {@link MetricsService.counter},
 * {@link MetricsService.gauge} or {@link MetricsService.histogram}; names must start with
 * `antibody_`. Registering the same name twice returns the existing metric.
 */
export class MetricsService {
  /** The underlying prom-client registry (one per service instance, never the global one). */
  readonly registry = new Registry();
  /** HTTP request duration in seconds, by `method`, `route` (the route pattern) and `status_code`. */
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(service: string, instanceId: string) {
    this.registry.setDefaultLabels({ service: serviceDisplayName(service), service_instance: instanceId });
    collectDefaultMetrics({ register: this.registry });
    this.httpRequestDuration = this.histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Duration of HTTP requests served, in seconds.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
  }

  /** Registers (or returns the already registered) counter. */
  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return this.existing<Counter<L>>(config) ?? new Counter({ ...config, registers: [this.registry] });
  }

  /** Registers (or returns the already registered) gauge. */
  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return this.existing<Gauge<L>>(config) ?? new Gauge({ ...config, registers: [this.registry] });
  }

  /** Registers (or returns the already registered) histogram. */
  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return this.existing<Histogram<L>>(config) ?? new Histogram({ ...config, registers: [this.registry] });
  }

  /** All metrics in the Prometheus text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The `Content-Type` of {@link render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private existing<M>(config: { name: string; labelNames?: readonly string[] }): M | undefined {
    const { name } = config;
    if (!name.startsWith(METRIC_PREFIX)) {
      throw new Error(`metric name "${name}" must start with "${METRIC_PREFIX}"`);
    }
    const reserved = (config.labelNames ?? []).filter((label) => RESERVED_METRIC_LABELS.includes(label));
    if (reserved.length > 0) {
      throw new Error(`metric "${name}" may not use the label(s) ${reserved.join(', ')}: Prometheus sets them on every series itself`);
    }
    return this.registry.getSingleMetric(name) as M | undefined;
  }
}

/** Serves `GET /metrics` in the Prometheus text format. */
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.render();
  }
}

/** @internal The path the timing middleware is mounted on; a request matching nothing else keeps it as its route. */
export const HTTP_METRICS_ROUTES = '{*path}';

/** Times every HTTP request into {@link MetricsService.httpRequestDuration}. */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(req: IncomingMessage & { route?: { path?: unknown }; baseUrl?: string }, res: ServerResponse, next: () => void): void {
    const stop = this.metrics.httpRequestDuration.startTimer();
    res.once('finish', () => {
      // The route pattern keeps label cardinality bounded; unmatched paths share one label.
      const routePath = req.route?.path;
      const matched = typeof routePath === 'string' && routePath !== HTTP_METRICS_ROUTES;
      const route = matched ? `${req.baseUrl ?? ''}${routePath}` : 'unmatched';
      stop({ method: req.method ?? 'UNKNOWN', route, status_code: String(res.statusCode) });
    });
    next();
  }
}
