-- The statements the service issues for this request (captured with log_statement = all),
-- without the connection pool's liveness check. Variables come from bench/run.sh.
-- Four transactions, as the service runs them: the daily series, the upcoming and the overdue
-- interactions (count and first five), the top tags.
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT day, coalesce(sum(count) FILTER (WHERE metric = 'customers.created'), 0)::bigint AS new_customers, coalesce(sum(count) FILTER (WHERE metric = 'interactions.created'), 0)::bigint AS interactions_created, coalesce(sum(count) FILTER (WHERE metric = 'interactions.completed'), 0)::bigint AS interactions_completed FROM crm.daily_counts WHERE company_id = :company::uuid AND day BETWEEN current_date - 29 AND current_date GROUP BY day;
COMMIT;
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT count(*) AS n FROM crm.customer_interactions WHERE company_id = :company::uuid AND status = 'scheduled' AND scheduled_at >= now() AND scheduled_at < now() + interval '7 days';
SELECT id, customer_id, type AS interaction_type, subject, scheduled_at FROM crm.customer_interactions WHERE company_id = :company::uuid AND status = 'scheduled' AND scheduled_at >= now() AND scheduled_at < now() + interval '7 days' ORDER BY scheduled_at, id LIMIT 5;
COMMIT;
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT count(*) AS n FROM crm.customer_interactions WHERE company_id = :company::uuid AND status = 'scheduled' AND scheduled_at >= '-infinity'::timestamptz AND scheduled_at < now();
SELECT id, customer_id, type AS interaction_type, subject, scheduled_at FROM crm.customer_interactions WHERE company_id = :company::uuid AND status = 'scheduled' AND scheduled_at >= '-infinity'::timestamptz AND scheduled_at < now() ORDER BY scheduled_at, id LIMIT 5;
COMMIT;
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT "crm"."tag_counts"."tag", "crm"."tag_counts"."count" FROM "crm"."tag_counts" WHERE ("crm"."tag_counts"."company_id" = :company::uuid) ORDER BY "crm"."tag_counts"."count" DESC, "crm"."tag_counts"."tag" ASC LIMIT 11;
COMMIT;
