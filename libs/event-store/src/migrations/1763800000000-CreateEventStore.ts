import type { MigrationInterface, QueryRunner } from 'typeorm';
import { quoteSchema } from '../identifiers';

/**
 * The event log and the subscription checkpoints.
 *
 * - `events` is ordered for readers by (transaction_id, global_position): a reader only reads
 *   below the oldest running transaction (pg_snapshot_xmin), so an event whose transaction
 *   commits late is never skipped and a rolled-back sequence value never stalls anyone.
 * - (stream_id, stream_version) is unique: two writers racing for a stream's next version cannot
 *   both commit, which is what makes expected-version appends safe without a lock row.
 * - Updates and deletes of events are refused by a trigger; the hash chain catches what a
 *   superuser does behind the trigger's back.
 */
export class CreateEventStore1763800000000 implements MigrationInterface {
  name = 'CreateEventStore1763800000000';

  async up(q: QueryRunner): Promise<void> {
    const s = quoteSchema(schemaOf(q));
    await q.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await q.query(`
      CREATE TABLE ${s}.events (
        global_position bigint GENERATED ALWAYS AS IDENTITY (CACHE 1),
        transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
        event_id        uuid NOT NULL,
        stream_id       text NOT NULL,
        stream_version  bigint NOT NULL,
        type            text NOT NULL,
        schema_version  integer NOT NULL,
        data            jsonb NOT NULL,
        metadata        jsonb NOT NULL,
        recorded_at     timestamptz NOT NULL,
        prev_hash       text NOT NULL,
        hash            text NOT NULL,
        CONSTRAINT events_pkey PRIMARY KEY (transaction_id, global_position),
        CONSTRAINT events_event_id_key UNIQUE (event_id),
        CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
      )`);
    await q.query(`
      CREATE TABLE ${s}.checkpoints (
        name            text PRIMARY KEY,
        transaction_id  xid8 NOT NULL,
        global_position bigint NOT NULL,
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE FUNCTION ${s}.refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events are immutable: % refused on event %', TG_OP, OLD.event_id
          USING ERRCODE = 'AB003';
      END $$`);
    await q.query(`
      CREATE TRIGGER events_are_immutable BEFORE UPDATE OR DELETE ON ${s}.events
      FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_event_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = quoteSchema(schemaOf(q));
    await q.query(`DROP TABLE IF EXISTS ${s}.checkpoints`);
    await q.query(`DROP TABLE IF EXISTS ${s}.events`);
    await q.query(`DROP FUNCTION IF EXISTS ${s}.refuse_event_change()`);
  }
}

function schemaOf(q: QueryRunner): string {
  const options = q.connection.options as { schema?: string };
  return options.schema ?? 'public';
}
