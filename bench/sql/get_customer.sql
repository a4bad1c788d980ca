-- The statements the service issues for this request (captured with log_statement = all),
-- without the connection pool's liveness check. Variables come from bench/run.sh.
\set i random(0, :count - 1)
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT "crm"."customers"."id", "crm"."customers"."company_id", "crm"."customers"."name", "crm"."customers"."email", "crm"."customers"."phone", "crm"."customers"."company_name", "crm"."customers"."type", "crm"."customers"."status", "crm"."customers"."source", "crm"."customers"."assigned_to", "crm"."customers"."address", "crm"."customers"."tags", "crm"."customers"."metadata", "crm"."customers"."created_by", "crm"."customers"."created_at", "crm"."customers"."updated_at" FROM "crm"."customers" WHERE (("crm"."customers"."company_id" = :company::uuid) AND ("crm"."customers"."id" = (:prefix || lpad(to_hex(:i::bigint), 12, '0'))::uuid)) LIMIT 1;
COMMIT;
