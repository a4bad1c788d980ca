-- Typo tolerance by nearest neighbours: a GiST trigram index answers
-- `ORDER BY lower(name) <-> 'text' LIMIT n` by walking the closest names first, where the GIN
-- index had to rank every name sharing a trigram with the text (thousands for a common word).
DROP INDEX crm.customers_name_trgm_idx;
CREATE INDEX customers_name_trgm_gist_idx ON crm.customers USING gist (lower(name) gist_trgm_ops);
