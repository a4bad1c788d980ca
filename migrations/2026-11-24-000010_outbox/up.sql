-- The transactional outbox: every domain event is written here in the transaction of the
-- change it describes, and a relay publishes it to Redis pub/sub afterwards (at least once, in
-- `seq` order) and deletes it. See docs/events.md and docs/decisions/0017.
--
-- Row-level security: the service's tenant role may only INSERT rows of its own company (it
-- can neither read nor delete any). The relay works across companies as its own role,
-- crm_relay, which may only read and delete outbox rows.
CREATE TABLE crm.outbox (
    seq         bigserial   PRIMARY KEY,
    id          uuid        NOT NULL,
    company_id  uuid        NOT NULL,
    customer_id uuid        NOT NULL,
    event_type  text        NOT NULL,
    payload     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

DO $$
BEGIN
    CREATE ROLE crm_relay NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT crm_relay TO %I', current_user);
EXCEPTION
    WHEN duplicate_object OR unique_violation OR invalid_grant_operation THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA crm TO crm_relay;
GRANT INSERT ON crm.outbox TO crm_tenant;
GRANT USAGE ON SEQUENCE crm.outbox_seq_seq TO crm_tenant;
GRANT SELECT, DELETE ON crm.outbox TO crm_relay;

ALTER TABLE crm.outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm.outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_insert ON crm.outbox FOR INSERT TO crm_tenant
    WITH CHECK (company_id = crm.current_company());
CREATE POLICY relay_select ON crm.outbox FOR SELECT TO crm_relay USING (true);
CREATE POLICY relay_delete ON crm.outbox FOR DELETE TO crm_relay USING (true);
