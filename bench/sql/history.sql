-- The statements the service issues for this request (captured with log_statement = all),
-- without the connection pool's liveness check. Variables come from bench/run.sh.
-- Two transactions, as the service runs them: the customer must exist, then its page.
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT "crm"."customers"."id", "crm"."customers"."company_id", "crm"."customers"."name", "crm"."customers"."email", "crm"."customers"."phone", "crm"."customers"."company_name", "crm"."customers"."type", "crm"."customers"."status", "crm"."customers"."source", "crm"."customers"."assigned_to", "crm"."customers"."address", "crm"."customers"."tags", "crm"."customers"."metadata", "crm"."customers"."created_by", "crm"."customers"."created_at", "crm"."customers"."updated_at" FROM "crm"."customers" WHERE (("crm"."customers"."company_id" = :company::uuid) AND ("crm"."customers"."id" = :customer::uuid)) LIMIT 1;
COMMIT;
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT "crm"."activities"."id", "crm"."activities"."company_id", "crm"."activities"."customer_id", "crm"."activities"."type", "crm"."activities"."entity_type", "crm"."activities"."entity_id", "crm"."activities"."actor", "crm"."activities"."visible_to", "crm"."activities"."occurred_at", "crm"."activities"."data" FROM "crm"."activities" WHERE ((("crm"."activities"."company_id" = :company::uuid) AND ("crm"."activities"."customer_id" = :customer::uuid)) AND (("crm"."activities"."visible_to" IS NULL) OR ("crm"."activities"."visible_to" = '01a20b42-2d25-7032-b0a6-72976e6d66ec'))) ORDER BY "crm"."activities"."occurred_at" DESC, "crm"."activities"."id" DESC LIMIT 21;
COMMIT;
