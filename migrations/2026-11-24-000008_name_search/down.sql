DO $$ BEGIN ALTER FUNCTION word_similarity_op(text, text) NOT LEAKPROOF; EXCEPTION WHEN insufficient_privilege THEN NULL; END $$;
CREATE INDEX IF NOT EXISTS customers_name_trgm_gist_idx ON crm.customers USING gist (lower(name) gist_trgm_ops);
DROP INDEX IF EXISTS crm.customers_name_search_trgm_idx;
ALTER TABLE crm.customers DROP COLUMN IF EXISTS name_search;
