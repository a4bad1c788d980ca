-- The statements the service issues for this request (captured with log_statement = all),
-- without the connection pool's liveness check. Variables come from bench/run.sh.
BEGIN;
SELECT set_config('role', 'crm_tenant', true), set_config('app.company_id', :company, true);
SELECT metric, key, count FROM crm.stat_counters WHERE company_id = :company::uuid AND metric <> 'customers.assigned' AND (metric <> 'notes.private' OR key = '01a20b42-2d25-7032-b0a6-72976e6d66ec');
SELECT coalesce(sum(count) FILTER (WHERE day > current_date - 7), 0)::bigint AS last_7, coalesce(sum(count), 0)::bigint AS last_30 FROM crm.daily_counts WHERE company_id = :company::uuid AND metric = 'customers.created' AND day > current_date - 30 AND day <= current_date;
COMMIT;
