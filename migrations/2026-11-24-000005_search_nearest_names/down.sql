DROP INDEX IF EXISTS crm.customers_name_trgm_gist_idx;
CREATE INDEX customers_name_trgm_idx ON crm.customers USING gin (lower(name) gin_trgm_ops);
