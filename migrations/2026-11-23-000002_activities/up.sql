-- The customers' history: one row per domain event, written in the transaction of the change
-- it records. A row keeps its own copy of what happened (`data`), so it survives later edits
-- and deletes of the notes and interactions it mentions; it goes with its customer.

CREATE TABLE crm.activities (
    id          uuid        PRIMARY KEY,
    company_id  uuid        NOT NULL,
    customer_id uuid        NOT NULL,
    type        text        NOT NULL,
    entity_type text        NOT NULL CHECK (entity_type IN ('customer', 'note', 'interaction')),
    entity_id   uuid        NOT NULL,
    actor       uuid        NOT NULL,
    -- Set for events about a private note: only this user sees the row.
    visible_to  uuid,
    occurred_at timestamptz NOT NULL,
    data        jsonb       NOT NULL DEFAULT '{}',
    FOREIGN KEY (company_id, customer_id)
        REFERENCES crm.customers (company_id, id) ON DELETE CASCADE
);

-- The timeline, newest first (scanned backwards).
CREATE INDEX activities_customer_idx ON crm.activities (company_id, customer_id, occurred_at, id);
-- A note's rows, to follow its privacy.
CREATE INDEX activities_entity_idx ON crm.activities (company_id, entity_id);
