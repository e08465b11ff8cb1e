import type { MigrationInterface, QueryRunner } from 'typeorm';
import { quoteSchema } from '../identifiers';

/**
 * The event log, stream heads, checkpoints and the append function.
 *
 * - `events` is ordered for readers by (transaction_id, global_position): a reader only reads
 *   below the oldest running transaction (pg_snapshot_xmin), so an event whose transaction
 *   commits late is never skipped and a rolled-back sequence value never stalls anyone.
 * - `streams` holds each stream's head (version and last hash) and is the row lock that makes an
 *   append atomic per stream.
 * - `append_to_stream` does the whole append in one round trip; its hash formula is the one in
 *   hashing.ts (`chainHash`).
 * - Updates and deletes of events are refused by a trigger; the hash chain catches what a
 *   superuser does behind the trigger's back.
 */
export class CreateEventStore1763800000000 implements MigrationInterface {
  name = 'CreateEventStore1763800000000';

  async up(q: QueryRunner): Promise<void> {
    const s = quoteSchema(schemaOf(q));
    await q.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await q.query(`
      CREATE TABLE ${s}.streams (
        stream_id   text PRIMARY KEY,
        category    text NOT NULL,
        version     bigint NOT NULL,
        last_hash   text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      ) WITH (fillfactor = 70)`);
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
    // p_expected: NULL = any, -1 = no stream, N >= 0 = the stream's last version must be N.
    // p_events: [{ id, type, sv, data, metadata, ch (content hash) }].
    await q.query(`
      CREATE FUNCTION ${s}.append_to_stream(
        p_stream_id text, p_category text, p_expected bigint, p_events jsonb, p_recorded_at timestamptz
      ) RETURNS TABLE (next_version bigint, positions bigint[], duplicate boolean)
      LANGUAGE plpgsql AS $$
      DECLARE
        v_version bigint;
        v_hash text;
        v_count int := jsonb_array_length(p_events);
        v_ids uuid[];
        v_found int;
        v_same boolean;
        v_prev text[] := '{}';
        v_hashes text[] := '{}';
        v_positions bigint[];
        i int;
      BEGIN
        SELECT st.version, st.last_hash INTO v_version, v_hash
          FROM ${s}.streams st WHERE st.stream_id = p_stream_id FOR UPDATE;
        IF NOT FOUND THEN
          INSERT INTO ${s}.streams (stream_id, category, version, last_hash)
            VALUES (p_stream_id, p_category, -1, '${'0'.repeat(64)}') ON CONFLICT DO NOTHING;
          SELECT st.version, st.last_hash INTO v_version, v_hash
            FROM ${s}.streams st WHERE st.stream_id = p_stream_id FOR UPDATE;
        END IF;

        SELECT array_agg((e->>'id')::uuid ORDER BY ord) INTO v_ids
          FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, ord);

        -- A retry of an append that already happened returns the original positions.
        SELECT count(*) INTO v_found FROM ${s}.events ev WHERE ev.event_id = ANY(v_ids);
        IF v_found > 0 THEN
          SELECT v_found = v_count AND bool_and(ev.stream_id = p_stream_id AND ev.type = x.e->>'type'
                   AND ev.data = x.e->'data' AND ev.stream_version - x.ord = first_v.v - 1)
            INTO v_same
            FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, ord)
            JOIN ${s}.events ev ON ev.event_id = (x.e->>'id')::uuid
            CROSS JOIN (SELECT min(stream_version) AS v FROM ${s}.events WHERE event_id = ANY(v_ids)) first_v;
          IF v_same THEN
            SELECT array_agg(ev.global_position ORDER BY ev.stream_version), max(ev.stream_version)
              INTO v_positions, v_version
              FROM ${s}.events ev WHERE ev.event_id = ANY(v_ids);
            RETURN QUERY SELECT v_version, v_positions, true;
            RETURN;
          END IF;
          RAISE EXCEPTION 'event ids already used by other events' USING ERRCODE = 'AB002',
            DETAIL = v_found::text || ' of ' || v_count::text || ' event ids exist with other content';
        END IF;

        IF p_expected IS NOT NULL AND v_version <> p_expected THEN
          RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'AB001', DETAIL = v_version::text;
        END IF;

        FOR i IN 1..v_count LOOP
          v_prev := v_prev || v_hash;
          v_hash := encode(sha256(convert_to(
            v_hash || ':' || (v_version + i)::text || ':' || (p_events->(i - 1)->>'ch'), 'UTF8')), 'hex');
          v_hashes := v_hashes || v_hash;
        END LOOP;

        WITH ins AS (
          INSERT INTO ${s}.events (event_id, stream_id, stream_version, type, schema_version, data,
                                   metadata, recorded_at, prev_hash, hash)
          SELECT (x.e->>'id')::uuid, p_stream_id, v_version + x.ord, x.e->>'type', (x.e->>'sv')::int,
                 x.e->'data', x.e->'metadata', p_recorded_at, v_prev[x.ord], v_hashes[x.ord]
            FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(e, ord)
           ORDER BY x.ord
          RETURNING global_position, stream_version
        )
        SELECT array_agg(ins.global_position ORDER BY ins.stream_version) INTO v_positions FROM ins;

        UPDATE ${s}.streams SET version = v_version + v_count, last_hash = v_hash, updated_at = now()
         WHERE stream_id = p_stream_id;
        RETURN QUERY SELECT v_version + v_count, v_positions, false;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = quoteSchema(schemaOf(q));
    await q.query(`DROP FUNCTION IF EXISTS ${s}.append_to_stream(text, text, bigint, jsonb, timestamptz)`);
    await q.query(`DROP TABLE IF EXISTS ${s}.checkpoints`);
    await q.query(`DROP TABLE IF EXISTS ${s}.events`);
    await q.query(`DROP FUNCTION IF EXISTS ${s}.refuse_event_change()`);
    await q.query(`DROP TABLE IF EXISTS ${s}.streams`);
  }
}

function schemaOf(q: QueryRunner): string {
  const options = q.connection.options as { schema?: string };
  return options.schema ?? 'public';
}
