-- Defense in depth: PostgreSQL itself keeps each company's rows apart.
--
-- Every tenant query of the service runs inside Database::tenant_tx, which does
--   SET LOCAL ROLE crm_tenant;  SELECT set_config('app.company_id', <company>, true);
-- crm_tenant neither owns the tables nor bypasses row-level security, and every tenant table
-- FORCEs a policy that only shows (and only accepts) rows of app.company_id. Both settings are
-- transaction-local, so a pooled connection never carries one request's company into another.
-- Migrations run as the owner, outside these transactions.

DO $$
BEGIN
    CREATE ROLE crm_tenant NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION
    -- Roles are cluster-wide: another database (or a concurrent migration) made it already.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- The login role of the service (the one running migrations) may switch to crm_tenant.
DO $$
BEGIN
    EXECUTE format('GRANT crm_tenant TO %I', current_user);
EXCEPTION
    WHEN duplicate_object OR unique_violation OR invalid_grant_operation THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA crm TO crm_tenant;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    crm.customers, crm.customer_notes, crm.customer_interactions, crm.activities, crm.segments,
    crm.tag_counts, crm.stat_counters, crm.daily_counts
    TO crm_tenant;
GRANT SELECT ON crm.customer_stats TO crm_tenant;

CREATE FUNCTION crm.current_company() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('app.company_id', true), '')::uuid
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'customer_notes', 'customer_interactions', 'activities',
                             'segments', 'tag_counts', 'stat_counters', 'daily_counts']
    LOOP
        EXECUTE format('ALTER TABLE crm.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE crm.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON crm.%I USING (company_id = crm.current_company())
                 WITH CHECK (company_id = crm.current_company())', t);
    END LOOP;
END
$$;
