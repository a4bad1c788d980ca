DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'customer_notes', 'customer_interactions', 'activities',
                             'segments', 'tag_counts', 'stat_counters', 'daily_counts']
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON crm.%I', t);
        EXECUTE format('ALTER TABLE crm.%I NO FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE crm.%I DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;
DROP FUNCTION IF EXISTS crm.current_company();
REVOKE ALL ON ALL TABLES IN SCHEMA crm FROM crm_tenant;
REVOKE USAGE ON SCHEMA crm FROM crm_tenant;
