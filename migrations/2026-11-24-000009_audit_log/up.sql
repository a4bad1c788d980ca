-- The audit trail: sensitive changes (written in the transaction of the change) and denied
-- attempts. No foreign keys: entries outlive what they describe. Append-only for the service
-- role: it may insert and read, never update or delete.
CREATE TABLE crm.audit_log (
    id          uuid        PRIMARY KEY,
    company_id  uuid        NOT NULL,
    occurred_at timestamptz NOT NULL,
    actor       uuid        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('admin', 'manager', 'user')),
    action      text        NOT NULL,
    entity_type text        NOT NULL,
    entity_id   uuid,
    changes     jsonb       NOT NULL DEFAULT 'null',
    request_id  text,
    client_ip   text
);
CREATE INDEX audit_log_company_time_idx ON crm.audit_log (company_id, occurred_at, id);
CREATE INDEX audit_log_entity_idx ON crm.audit_log (company_id, entity_id, occurred_at);
CREATE INDEX audit_log_actor_idx ON crm.audit_log (company_id, actor, occurred_at);

GRANT SELECT, INSERT ON crm.audit_log TO crm_tenant;
ALTER TABLE crm.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm.audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON crm.audit_log
    USING (company_id = crm.current_company()) WITH CHECK (company_id = crm.current_company());
