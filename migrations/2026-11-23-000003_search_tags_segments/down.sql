DROP TABLE IF EXISTS crm.segments;
DROP TRIGGER IF EXISTS customers_tag_counts ON crm.customers;
DROP FUNCTION IF EXISTS crm.track_tag_counts();
DROP TABLE IF EXISTS crm.tag_counts;
DROP INDEX IF EXISTS crm.customers_metadata_idx;
DROP INDEX IF EXISTS crm.customers_name_trgm_idx;
DROP INDEX IF EXISTS crm.customers_search_trgm_idx;
ALTER TABLE crm.customers DROP COLUMN IF EXISTS search_text;
