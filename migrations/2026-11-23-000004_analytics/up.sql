-- Analytics: counters and daily series kept exact by triggers in the writing transaction, so
-- /api/stats and the dashboard read a handful of rows whatever the size of the company.
--
-- stat_counters holds, per company, the current number of rows per (metric, key):
--   customers            ''            all customers
--   customers.status     <status>      by status
--   customers.type       <type>        by type
--   customers.source     <source>|''   by source ('' = none)
--   customers.assigned   <user uuid>   by assignee
--   notes.public         ''            public notes
--   notes.private        <user uuid>   private notes, by author
--   interactions         ''            all interactions
--   interactions.type    <type>        by type
--   interactions.status  <status>      by status
-- daily_counts holds, per company and UTC day, the current number of rows of
--   customers.created, interactions.created, interactions.completed (by completed_at).
-- Both always equal a direct count over the tables (tests check this).

CREATE TABLE crm.stat_counters (
    company_id uuid   NOT NULL,
    metric     text   NOT NULL,
    key        text   NOT NULL DEFAULT '',
    count      bigint NOT NULL,
    PRIMARY KEY (company_id, metric, key)
);

CREATE TABLE crm.daily_counts (
    company_id uuid   NOT NULL,
    metric     text   NOT NULL,
    day        date   NOT NULL,
    count      bigint NOT NULL,
    PRIMARY KEY (company_id, metric, day)
);

-- Adds `delta` to each (metric, key) of a company, in a fixed order (no deadlocks between
-- concurrent writers), and drops counters that reach zero.
CREATE FUNCTION crm.bump_counters(company uuid, entries text[][], delta int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e record;
BEGIN
    FOR e IN
        SELECT entries[i][1] AS metric, entries[i][2] AS key
          FROM generate_subscripts(entries, 1) i ORDER BY 1, 2
    LOOP
        INSERT INTO crm.stat_counters AS c (company_id, metric, key, count)
        VALUES (company, e.metric, e.key, delta)
        ON CONFLICT ON CONSTRAINT stat_counters_pkey DO UPDATE SET count = c.count + delta;
    END LOOP;
    DELETE FROM crm.stat_counters c
     WHERE c.company_id = company AND c.count = 0
       AND (c.metric, c.key) IN (SELECT entries[i][1], entries[i][2] FROM generate_subscripts(entries, 1) i);
END
$$;

CREATE FUNCTION crm.bump_day(company uuid, what text, at timestamptz, delta int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF at IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO crm.daily_counts AS d (company_id, metric, day, count)
    VALUES (company, what, (at AT TIME ZONE 'UTC')::date, delta)
    ON CONFLICT ON CONSTRAINT daily_counts_pkey DO UPDATE SET count = d.count + delta;
    DELETE FROM crm.daily_counts d
     WHERE d.company_id = company AND d.metric = what
       AND d.day = (at AT TIME ZONE 'UTC')::date AND d.count = 0;
END
$$;

CREATE FUNCTION crm.customer_keys(c crm.customers) RETURNS text[][]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[
        ARRAY['customers', ''],
        ARRAY['customers.status', c.status],
        ARRAY['customers.type', c.type],
        ARRAY['customers.source', coalesce(c.source, '')],
        ARRAY['customers.assigned', coalesce(c.assigned_to::text, '')]
    ]
$$;

CREATE FUNCTION crm.track_customer_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM crm.bump_counters(OLD.company_id, crm.customer_keys(OLD), -1);
        PERFORM crm.bump_day(OLD.company_id, 'customers.created', OLD.created_at, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM crm.bump_counters(NEW.company_id, crm.customer_keys(NEW), 1);
        PERFORM crm.bump_day(NEW.company_id, 'customers.created', NEW.created_at, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER customers_stats
    AFTER INSERT OR DELETE OR UPDATE OF status, type, source, assigned_to, created_at
    ON crm.customers FOR EACH ROW EXECUTE FUNCTION crm.track_customer_stats();

CREATE FUNCTION crm.note_keys(n crm.customer_notes) RETURNS text[][]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n.is_private
        THEN ARRAY[ARRAY['notes.private', n.created_by::text]]
        ELSE ARRAY[ARRAY['notes.public', '']] END
$$;

CREATE FUNCTION crm.track_note_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM crm.bump_counters(OLD.company_id, crm.note_keys(OLD), -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM crm.bump_counters(NEW.company_id, crm.note_keys(NEW), 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER customer_notes_stats
    AFTER INSERT OR DELETE OR UPDATE OF is_private, created_by
    ON crm.customer_notes FOR EACH ROW EXECUTE FUNCTION crm.track_note_stats();

CREATE FUNCTION crm.interaction_keys(i crm.customer_interactions) RETURNS text[][]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[
        ARRAY['interactions', ''],
        ARRAY['interactions.type', i.type],
        ARRAY['interactions.status', i.status]
    ]
$$;

CREATE FUNCTION crm.track_interaction_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM crm.bump_counters(OLD.company_id, crm.interaction_keys(OLD), -1);
        PERFORM crm.bump_day(OLD.company_id, 'interactions.created', OLD.created_at, -1);
        PERFORM crm.bump_day(OLD.company_id, 'interactions.completed', OLD.completed_at, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM crm.bump_counters(NEW.company_id, crm.interaction_keys(NEW), 1);
        PERFORM crm.bump_day(NEW.company_id, 'interactions.created', NEW.created_at, 1);
        PERFORM crm.bump_day(NEW.company_id, 'interactions.completed', NEW.completed_at, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER customer_interactions_stats
    AFTER INSERT OR DELETE OR UPDATE OF type, status, created_at, completed_at
    ON crm.customer_interactions FOR EACH ROW EXECUTE FUNCTION crm.track_interaction_stats();

-- Backfill from what is already stored.
INSERT INTO crm.stat_counters (company_id, metric, key, count)
SELECT company_id, 'customers', '', count(*) FROM crm.customers GROUP BY 1
UNION ALL
SELECT company_id, 'customers.status', status, count(*) FROM crm.customers GROUP BY 1, 3
UNION ALL
SELECT company_id, 'customers.type', type, count(*) FROM crm.customers GROUP BY 1, 3
UNION ALL
SELECT company_id, 'customers.source', coalesce(source, ''), count(*) FROM crm.customers GROUP BY 1, 3
UNION ALL
SELECT company_id, 'customers.assigned', coalesce(assigned_to::text, ''), count(*)
  FROM crm.customers GROUP BY 1, 3;
INSERT INTO crm.stat_counters (company_id, metric, key, count)
SELECT company_id, CASE WHEN is_private THEN 'notes.private' ELSE 'notes.public' END,
       CASE WHEN is_private THEN created_by::text ELSE '' END, count(*)
  FROM crm.customer_notes GROUP BY 1, 2, 3;
INSERT INTO crm.stat_counters (company_id, metric, key, count)
SELECT company_id, 'interactions', '', count(*) FROM crm.customer_interactions GROUP BY 1
UNION ALL
SELECT company_id, 'interactions.type', type, count(*) FROM crm.customer_interactions GROUP BY 1, 3
UNION ALL
SELECT company_id, 'interactions.status', status, count(*) FROM crm.customer_interactions GROUP BY 1, 3;
INSERT INTO crm.daily_counts (company_id, metric, day, count)
SELECT company_id, 'customers.created', (created_at AT TIME ZONE 'UTC')::date, count(*)
  FROM crm.customers GROUP BY 1, 3
UNION ALL
SELECT company_id, 'interactions.created', (created_at AT TIME ZONE 'UTC')::date, count(*)
  FROM crm.customer_interactions GROUP BY 1, 3
UNION ALL
SELECT company_id, 'interactions.completed', (completed_at AT TIME ZONE 'UTC')::date, count(*)
  FROM crm.customer_interactions WHERE completed_at IS NOT NULL GROUP BY 1, 3;

-- Counters must stay HOT-updatable: an index on `count` made every tag count update write new
-- index entries, and a bulk load piled up versions of the same few rows. A company's tags are
-- few enough to sort without an index.
DROP INDEX crm.tag_counts_rank_idx;

-- Performance report: interactions by creation and completion time, wins from the history.
CREATE INDEX customer_interactions_created_idx
    ON crm.customer_interactions (company_id, created_at);
CREATE INDEX customer_interactions_completed_idx
    ON crm.customer_interactions (company_id, completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX activities_type_time_idx ON crm.activities (company_id, type, occurred_at);
