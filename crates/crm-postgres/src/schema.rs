//! Diesel table definitions, mirroring `migrations/`. All tables are in the `crm` schema.
#![allow(missing_docs)]

diesel::table! {
    crm.customers (id) {
        id -> Uuid,
        company_id -> Uuid,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        company_name -> Nullable<Text>,
        #[sql_name = "type"]
        customer_type -> Text,
        status -> Text,
        source -> Nullable<Text>,
        assigned_to -> Nullable<Uuid>,
        address -> Nullable<Jsonb>,
        tags -> Array<Text>,
        metadata -> Jsonb,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_text -> Text,
        name_search -> Text,
    }
}

diesel::table! {
    crm.customer_notes (id) {
        id -> Uuid,
        company_id -> Uuid,
        customer_id -> Uuid,
        content -> Text,
        #[sql_name = "type"]
        note_type -> Text,
        is_private -> Bool,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    crm.customer_interactions (id) {
        id -> Uuid,
        company_id -> Uuid,
        customer_id -> Uuid,
        #[sql_name = "type"]
        interaction_type -> Text,
        direction -> Nullable<Text>,
        subject -> Text,
        description -> Nullable<Text>,
        scheduled_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        duration_minutes -> Nullable<Int4>,
        outcome -> Nullable<Text>,
        status -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    crm.activities (id) {
        id -> Uuid,
        company_id -> Uuid,
        customer_id -> Uuid,
        #[sql_name = "type"]
        activity_type -> Text,
        entity_type -> Text,
        entity_id -> Uuid,
        actor -> Uuid,
        visible_to -> Nullable<Uuid>,
        occurred_at -> Timestamptz,
        data -> Jsonb,
    }
}

diesel::table! {
    crm.tag_counts (company_id, tag) {
        company_id -> Uuid,
        tag -> Text,
        count -> Int8,
    }
}

diesel::table! {
    crm.segments (id) {
        id -> Uuid,
        company_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        filter -> Jsonb,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    crm.audit_log (id) {
        id -> Uuid,
        company_id -> Uuid,
        occurred_at -> Timestamptz,
        actor -> Uuid,
        role -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Nullable<Uuid>,
        changes -> Jsonb,
        request_id -> Nullable<Text>,
        client_ip -> Nullable<Text>,
    }
}

diesel::table! {
    crm.outbox (seq) {
        seq -> Int8,
        id -> Uuid,
        company_id -> Uuid,
        customer_id -> Uuid,
        event_type -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    customers,
    customer_notes,
    customer_interactions,
    activities,
    tag_counts,
    segments,
    audit_log,
    outbox
);
