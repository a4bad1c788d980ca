DROP TABLE IF EXISTS crm.outbox;
-- crm_relay is cluster-wide and may be used by other databases; it is left in place.
