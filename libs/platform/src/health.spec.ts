import { HealthIndicatorService } from '@nestjs/terminus';
import { HealthChecks, healthReport } from './health';

const up = (key: string, extra: Record<string, unknown> = {}) => ({ [key]: { status: 'up' as const, ...extra } });
const down = (key: string, message: string) => ({ [key]: { status: 'down' as const, message } });

describe('healthReport', () => {
  it('is ok (200) when every required part is up', () => {
    expect(healthReport([{ result: up('postgres'), required: true }, { result: up('nats', { rttMs: 1 }), required: true }])).toEqual({
      httpStatus: 200,
      body: { status: 'ok', info: { postgres: { status: 'up' }, nats: { status: 'up', rttMs: 1 } }, error: {}, details: { postgres: { status: 'up' }, nats: { status: 'up', rttMs: 1 } } },
    });
  });

  it('is an error (503) when a required part is down, naming it and why', () => {
    const report = healthReport([{ result: down('postgres', 'ECONNREFUSED'), required: true }, { result: up('nats'), required: true }]);
    expect(report.httpStatus).toBe(503);
    expect(report.body).toMatchObject({ status: 'error', error: { postgres: { status: 'down', message: 'ECONNREFUSED' } }, info: { nats: { status: 'up' } } });
  });

  it('stays ok when only a part that does not gate the probe is down, and still shows it (ingest without NATS)', () => {
    const report = healthReport([{ result: up('postgres'), required: true }, { result: down('nats', 'connection closed'), required: false }]);
    expect(report.httpStatus).toBe(200);
    expect(report.body.status).toBe('ok');
    expect(report.body.error).toEqual({ nats: { status: 'down', message: 'connection closed' } });
    expect(report.body.details).toHaveProperty('nats.status', 'down');
  });

  it('answers 503 "shutting_down" once the instance stops, even with everything up', () => {
    expect(healthReport([{ result: up('postgres'), required: true }], true)).toMatchObject({ httpStatus: 503, body: { status: 'shutting_down' } });
  });
});

describe('HealthChecks', () => {
  const checks = (): HealthChecks => new HealthChecks(new HealthIndicatorService());

  it('gates readiness by default, and not when added with gatesReadiness: false', () => {
    const registry = checks();
    registry.add('worker', () => ({ up: false, message: 'restarting' }));
    registry.add('processor', () => ({ up: false }), { gatesReadiness: false });
    expect(registry.parts()).toEqual([
      { result: { worker: { status: 'down', message: 'restarting' } }, required: true },
      { result: { processor: { status: 'down' } }, required: false },
    ]);
  });

  it('reports a check that throws as down, with the error', () => {
    const registry = checks();
    registry.add('broken', () => {
      throw new Error('boom');
    });
    expect(registry.parts()).toEqual([{ result: { broken: { status: 'down', message: 'check failed: boom' } }, required: true }]);
  });
});
