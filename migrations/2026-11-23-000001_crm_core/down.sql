DROP VIEW IF EXISTS crm.customer_stats;
DROP TABLE IF EXISTS crm.customer_interactions;
DROP TABLE IF EXISTS crm.customer_notes;
DROP TABLE IF EXISTS crm.customers;
DROP SCHEMA IF EXISTS crm;
