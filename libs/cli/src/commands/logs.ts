import type { EventStore } from '@antibody/event-store';
import { CliError, EXIT } from '../errors';
import type { Output } from '../output';

export interface LogsOptions {
  /** Only this step, e.g. `test:patched`. */
  readonly step?: string;
  readonly json?: boolean;
}

interface LogRow {
  seq: number;
  step: string;
  command: string;
  exit_code: number | null;
  output: string;
  recorded_at: Date;
}

/**
 * Prints the full logs of a patch's latest validation, kept by antibody-validator in the
 * `validation_logs` table of the event store's schema (verdict events carry only excerpts).
 * Fails with a one-line error when the validator never ran for this patch (or its table does not
 * exist yet).
 */
export async function logs(store: EventStore, patchId: string, options: LogsOptions, out: Output): Promise<void> {
  let rows: LogRow[];
  try {
    const result = await store.pool.query<LogRow>(
      `SELECT seq, step, command, exit_code, output, recorded_at FROM "${store.schema}".validation_logs
        WHERE patch_id = $1 AND ($2::text IS NULL OR step = $2) ORDER BY seq`,
      [patchId, options.step ?? null],
    );
    rows = result.rows;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') throw new CliError(`no validation logs: the validator has not run against schema "${store.schema}" yet`, EXIT.failure);
    throw error;
  }
  if (rows.length === 0) throw new CliError(`no validation logs for patch ${patchId}${options.step ? ` and step "${options.step}"` : ''}`, EXIT.failure);
  if (options.json) {
    out.line(JSON.stringify(rows.map((r) => ({ seq: r.seq, step: r.step, command: r.command, exitCode: r.exit_code, recordedAt: r.recorded_at, output: r.output })), null, 2));
    return;
  }
  for (const r of rows) {
    out.line(`== ${r.step} · ${r.command} · exit ${r.exit_code ?? '-'} · ${new Date(r.recorded_at).toISOString()} ==`);
    out.line(r.output.replace(/\n$/, ''));
  }
}
