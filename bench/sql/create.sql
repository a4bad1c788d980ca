-- The statements the service issues for this request (captured with log_statement = all),
-- without the connection pool's liveness check. Variables come from bench/run.sh.
-- A new customer, its history entry and its audit entry; the counter triggers run as for
-- the service.
\set n random(1, 100000000000000)
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
INSERT INTO "crm"."customers" ("id", "company_id", "name", "email", "phone", "company_name", "type", "status", "source", "assigned_to", "address", "tags", "metadata", "created_by", "created_at", "updated_at") VALUES (('0be1c000-0000-4000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid, :company::uuid, 'Pgbench Customer ' || :n, 'pgbench.' || gen_random_uuid() || '@example.com', '+1 555 ' || :n, DEFAULT, 'individual', 'lead', 'web', DEFAULT, DEFAULT, '{bench,trial}', '{"tier": "bronze"}', '01a20b42-2d25-7032-b0a6-72976e6d66ec', now(), now());
INSERT INTO "crm"."activities" ("id", "company_id", "customer_id", "type", "entity_type", "entity_id", "actor", "visible_to", "occurred_at", "data") VALUES (gen_random_uuid(), :company::uuid, ('0be1c000-0000-4000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid, 'customer.created', 'customer', gen_random_uuid(), '01a20b42-2d25-7032-b0a6-72976e6d66ec', DEFAULT, now(), '{"name": "Pgbench Customer", "tags": ["bench", "trial"], "type": "individual", "email": "pgbench@example.com", "phone": "+1 555 1", "source": "web", "status": "lead", "address": null, "metadata": {"tier": "bronze"}, "companyName": null}');
INSERT INTO "crm"."audit_log" ("id", "company_id", "occurred_at", "actor", "role", "action", "entity_type", "entity_id", "changes", "request_id", "client_ip") VALUES (gen_random_uuid(), :company::uuid, now(), '01a20b42-2d25-7032-b0a6-72976e6d66ec', 'admin', 'customer.created', 'customer', gen_random_uuid(), '{"name": "Pgbench Customer", "tags": ["bench", "trial"], "type": "individual", "email": "pgbench@example.com", "phone": "+1 555 1", "source": "web", "status": "lead", "address": null, "metadata": {"tier": "bronze"}, "companyName": null}', gen_random_uuid(), '127.0.0.1');
COMMIT;
