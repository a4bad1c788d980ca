-- The statements the service issues for this request (captured with log_statement = all).
-- Variables come from bench/run.sh.
-- A full name with at least a page of namesakes: the exact-name tier fills the page, so the
-- service reads no further tier.
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT "crm"."customers"."id", "crm"."customers"."company_id", "crm"."customers"."name", "crm"."customers"."email", "crm"."customers"."phone", "crm"."customers"."company_name", "crm"."customers"."type", "crm"."customers"."status", "crm"."customers"."source", "crm"."customers"."assigned_to", "crm"."customers"."address", "crm"."customers"."tags", "crm"."customers"."metadata", "crm"."customers"."created_by", "crm"."customers"."created_at", "crm"."customers"."updated_at", ((CASE WHEN name_search = :search THEN 3 WHEN name_search LIKE :search_prefix THEN 2 ELSE 1 END) * 1000000 + round(word_similarity(:search, name_search) * 999999))::bigint FROM "crm"."customers" WHERE (("crm"."customers"."company_id" = :company::uuid) AND (name_search = :search)) ORDER BY ((CASE WHEN name_search = :search THEN 3 WHEN name_search LIKE :search_prefix THEN 2 ELSE 1 END) * 1000000 + round(word_similarity(:search, name_search) * 999999))::bigint DESC, "crm"."customers"."id" DESC LIMIT 21;
COMMIT;
