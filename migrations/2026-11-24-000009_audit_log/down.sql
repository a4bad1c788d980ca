DROP TABLE IF EXISTS crm.audit_log;
