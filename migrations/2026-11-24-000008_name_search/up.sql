-- Typo search by trigram similarity on a stored lower-cased name. Beneath row-level security
-- only LEAKPROOF functions may run on an index, and lower() is not; a stored column needs no
-- function at query time, like search_text. (Rewrites the table once.)
ALTER TABLE crm.customers
    ADD COLUMN name_search text GENERATED ALWAYS AS (lower(name)) STORED;
CREATE INDEX customers_name_search_trgm_idx ON crm.customers USING gin (name_search gin_trgm_ops);
-- The nearest-neighbour GiST index could not be used beneath the policy (it indexes lower(name)).
DROP INDEX crm.customers_name_trgm_gist_idx;

-- Typos are matched by word similarity (`text <% name_search`); like the other search
-- operators, its function must be LEAKPROOF to use the index beneath the policy.
DO $$
BEGIN
    ALTER FUNCTION word_similarity_op(text, text) LEAKPROOF;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE WARNING 'typo search needs LEAKPROOF word_similarity_op: run this migration as a superuser';
END
$$;
