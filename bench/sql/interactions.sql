-- The statements the service issues for this request (captured with log_statement = all),
-- without the connection pool's liveness check. Variables come from bench/run.sh.
-- Two transactions, as the service runs them: the customer must exist, then its page.
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT "crm"."customers"."id", "crm"."customers"."company_id", "crm"."customers"."name", "crm"."customers"."email", "crm"."customers"."phone", "crm"."customers"."company_name", "crm"."customers"."type", "crm"."customers"."status", "crm"."customers"."source", "crm"."customers"."assigned_to", "crm"."customers"."address", "crm"."customers"."tags", "crm"."customers"."metadata", "crm"."customers"."created_by", "crm"."customers"."created_at", "crm"."customers"."updated_at" FROM "crm"."customers" WHERE (("crm"."customers"."company_id" = :company::uuid) AND ("crm"."customers"."id" = :customer::uuid)) LIMIT 1;
COMMIT;
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT "crm"."customer_interactions"."id", "crm"."customer_interactions"."company_id", "crm"."customer_interactions"."customer_id", "crm"."customer_interactions"."type", "crm"."customer_interactions"."direction", "crm"."customer_interactions"."subject", "crm"."customer_interactions"."description", "crm"."customer_interactions"."scheduled_at", "crm"."customer_interactions"."completed_at", "crm"."customer_interactions"."duration_minutes", "crm"."customer_interactions"."outcome", "crm"."customer_interactions"."status", "crm"."customer_interactions"."created_by", "crm"."customer_interactions"."created_at", "crm"."customer_interactions"."updated_at" FROM "crm"."customer_interactions" WHERE (("crm"."customer_interactions"."company_id" = :company::uuid) AND ("crm"."customer_interactions"."customer_id" = :customer::uuid)) ORDER BY "crm"."customer_interactions"."created_at" DESC, "crm"."customer_interactions"."id" DESC LIMIT 21;
COMMIT;
