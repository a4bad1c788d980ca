-- Search, tag counts and segments.

-- Ranked fuzzy search. `search_text` folds the searchable fields into one lower-cased string;
-- trigram indexes answer `LIKE '%fragment%'` on it and similarity on the name (typos) without
-- scanning a company's customers.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE crm.customers
    ADD COLUMN search_text text GENERATED ALWAYS AS (
        lower(name || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '') || ' '
              || coalesce(company_name, ''))
    ) STORED;

CREATE INDEX customers_search_trgm_idx ON crm.customers USING gin (search_text gin_trgm_ops);
CREATE INDEX customers_name_trgm_idx ON crm.customers USING gin (lower(name) gin_trgm_ops);

-- `metadata` containment filters (`metadata @> '{"tier": "gold"}'`).
CREATE INDEX customers_metadata_idx ON crm.customers USING gin (metadata jsonb_path_ops);

-- Per-company tag counts, maintained by a trigger in the writing transaction, so listing a
-- company's tags never counts its customers.
CREATE TABLE crm.tag_counts (
    company_id uuid   NOT NULL,
    tag        text   NOT NULL,
    count      bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (company_id, tag)
);
CREATE INDEX tag_counts_rank_idx ON crm.tag_counts (company_id, count DESC, tag);

CREATE FUNCTION crm.track_tag_counts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone  text[] := '{}';
    added text[] := '{}';
BEGIN
    IF TG_OP = 'DELETE' THEN
        gone := OLD.tags;
    ELSIF TG_OP = 'INSERT' THEN
        added := NEW.tags;
    ELSE
        gone  := ARRAY(SELECT unnest(OLD.tags) EXCEPT SELECT unnest(NEW.tags));
        added := ARRAY(SELECT unnest(NEW.tags) EXCEPT SELECT unnest(OLD.tags));
    END IF;
    -- Tags in a fixed order, so concurrent writers lock counters in the same order.
    IF cardinality(gone) > 0 THEN
        UPDATE crm.tag_counts c SET count = c.count - 1
          FROM (SELECT DISTINCT t FROM unnest(gone) t ORDER BY t) g
         WHERE c.company_id = OLD.company_id AND c.tag = g.t;
        DELETE FROM crm.tag_counts c
         WHERE c.company_id = OLD.company_id AND c.tag = ANY (gone) AND c.count = 0;
    END IF;
    IF cardinality(added) > 0 THEN
        INSERT INTO crm.tag_counts (company_id, tag, count)
        SELECT NEW.company_id, t, 1 FROM (SELECT DISTINCT t FROM unnest(added) t ORDER BY t) a
        ON CONFLICT (company_id, tag) DO UPDATE SET count = crm.tag_counts.count + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER customers_tag_counts
    AFTER INSERT OR DELETE OR UPDATE OF tags ON crm.customers
    FOR EACH ROW EXECUTE FUNCTION crm.track_tag_counts();

INSERT INTO crm.tag_counts (company_id, tag, count)
SELECT company_id, t, count(*) FROM crm.customers, unnest(tags) t GROUP BY company_id, t;

-- Segments: a name and a saved customer filter (in the list's terms), evaluated live.
CREATE TABLE crm.segments (
    id          uuid        PRIMARY KEY,
    company_id  uuid        NOT NULL,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description text        CHECK (description IS NULL OR char_length(description) <= 1000),
    filter      jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(filter) = 'object'),
    created_by  uuid        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX segments_company_name_key ON crm.segments (company_id, lower(name));
CREATE INDEX segments_company_created_idx ON crm.segments (company_id, created_at, id);
