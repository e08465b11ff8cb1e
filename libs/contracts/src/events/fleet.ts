import { z } from 'zod';
import { incidentIdSchema, patchIdSchema, serviceNameSchema } from '../ids';
import { count, text, timestamp } from '../primitives';
import { armCountsSchema } from './incident';

const trafficAction = z
  .enum(['start-canary', 'set-stage', 'rollback'])
  .describe('`start-canary`: start the canary replicas at 0 %; `set-stage`: send `percent` of the traffic to the canary (100 promotes it); `rollback`: all traffic back to stable.');

const fleetCounts = z
  .object({ canary: armCountsSchema, stable: armCountsSchema })
  .describe('Cumulative counts per release since the canary started, counted by the fleet proxy. They never go backwards for one canary, also across agent restarts.');

/** What the fleet agent serves after a change: the facts a deployer needs to trust its next step. */
const fleetState = {
  stableRelease: text,
  stableEntry: text.describe('The file the stable replicas run.'),
  canaryRelease: text.nullable().describe('The release rolling out, or null when none is.'),
  canaryEntry: text.nullable(),
  canaryPercent: z.number().min(0).max(100).describe('Share of new requests the proxy sends to the canary.'),
  counts: fleetCounts,
  slowThresholdMs: z.number().nonnegative().nullable().describe("Stable's p95 frozen when the canary started: slower requests count as slow. Null when no canary runs or nothing was measured."),
};

export const trafficChangeRequested = z
  .object({
    requestId: z.uuid().describe('Names this request; the agent answers with the same id.'),
    service: serviceNameSchema,
    action: trafficAction,
    release: text.describe('The canary release the request is about.'),
    entry: text.optional().describe('`start-canary` only: the file each canary replica runs.'),
    percent: z.number().gt(0).max(100).optional().describe('`set-stage` only.'),
    reason: text.optional().describe('`rollback` only: why.'),
    expiresAt: timestamp.optional().describe('The requester stops waiting then: a `start-canary` or `set-stage` seen later is refused as expired (a rollback is always carried out).'),
    incidentId: incidentIdSchema.optional(),
    patchId: patchIdSchema.optional(),
  })
  .superRefine((d, ctx) => {
    if (d.action === 'start-canary' && d.entry === undefined) ctx.addIssue({ code: 'custom', path: ['entry'], message: 'start-canary needs the entry the canary replicas run' });
    if (d.action === 'set-stage' && d.percent === undefined) ctx.addIssue({ code: 'custom', path: ['percent'], message: 'set-stage needs a percent' });
  });

export const trafficChanged = z.object({
  requestId: z.uuid(),
  action: trafficAction,
  ...fleetState,
});

export const trafficChangeRefused = z.object({
  requestId: z.uuid(),
  action: trafficAction,
  reason: text.describe('Why the agent did not act, e.g. another rollout is running.'),
});

export const fleetCountsReported = z.object({
  at: timestamp,
  ...fleetState,
  canaryRelease: text,
  canaryEntry: text,
});

export const replicaFailed = z.object({
  replica: text.describe('`<release>#<n>`.'),
  release: text,
  kind: z.enum(['crashed', 'resource-limit', 'gave-up']).describe('`crashed`: exited unexpectedly (restarted with backoff); `resource-limit`: above its memory limit (recycled gracefully); `gave-up`: could not be started.'),
  detail: text,
  restarts: count,
  at: timestamp,
});

/** Data schemas of the `fleet-<service>` stream, by event type. */
export const fleetEventSchemas = {
  TrafficChangeRequested: trafficChangeRequested,
  TrafficChanged: trafficChanged,
  TrafficChangeRefused: trafficChangeRefused,
  FleetCountsReported: fleetCountsReported,
  ReplicaFailed: replicaFailed,
} as const;
