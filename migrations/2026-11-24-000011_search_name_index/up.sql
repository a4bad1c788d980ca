-- Search ranks an exact name first, then a name that starts with the text, then the text
-- anywhere (search_text), and reads these tiers in that order, stopping at a full page. This
-- index answers the first two tiers (`name_search = $1`, `name_search LIKE 'text%'`) with a
-- range scan whatever the database's collation (text_pattern_ops), so a search for a full name
-- with hundreds of namesakes no longer intersects the trigram posting lists of the whole table.
CREATE INDEX customers_company_name_search_idx
    ON crm.customers (company_id, name_search text_pattern_ops);
