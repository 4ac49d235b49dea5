//! Table definitions shared by both backends (the migrations in `migrations/sqlite` and
//! `migrations/postgres` create the same columns with the same types).
diesel::table! {
    agencies (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        first_responder -> Bool,
        contact_email -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    agency_areas (agency_id, area) {
        agency_id -> Text,
        area -> Text,
    }
}

diesel::table! {
    identity_providers (agency_id) {
        agency_id -> Text,
        issuer -> Text,
        audience -> Text,
        roles_claim -> Text,
        role_map -> Text,
        accept_jwt_typ -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(agency_areas -> agencies (agency_id));
diesel::joinable!(identity_providers -> agencies (agency_id));
diesel::allow_tables_to_appear_in_same_query!(agencies, agency_areas, identity_providers);

diesel::table! {
    subscriptions (id) {
        id -> Text,
        agency_id -> Text,
        events -> Text,
        filters -> Text,
        channel_type -> Text,
        url -> Nullable<Text>,
        addresses -> Nullable<Text>,
        secret -> Nullable<Text>,
        active -> Bool,
        disabled_reason -> Nullable<Text>,
        created_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        agency_id -> Text,
        subscription_id -> Nullable<Text>,
        channel -> Text,
        event_type -> Text,
        payload -> Text,
        classification -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        last_attempt_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
    }
}

// The audit trail (migration 2026-11-26-000002_audit); written only by `crate::audit`.
diesel::table! {
    audit_head (id) {
        id -> Integer,
        tree_size -> BigInt,
        root_hash -> Binary,
        frontier -> Binary,
    }
}

diesel::table! {
    audit_entries (seq) {
        seq -> BigInt,
        operation -> Text,
        occurred_at -> Timestamp,
        record_kind -> Nullable<Text>,
        record_id -> Nullable<Text>,
        purpose -> Nullable<Text>,
        body -> Text,
        leaf_hash -> Binary,
        subtree_hashes -> Binary,
        receipt_tree_size -> BigInt,
        receipt_root -> Binary,
    }
}

diesel::table! {
    audit_entry_agencies (agency_id, seq, relation) {
        agency_id -> Text,
        seq -> BigInt,
        relation -> Text,
    }
}

diesel::table! {
    audit_entry_subjects (subject_ref, seq) {
        subject_ref -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    audit_tree_heads (tree_size) {
        tree_size -> BigInt,
        root_hash -> Binary,
        signed_at -> Timestamp,
        key_id -> Text,
        signature -> Binary,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    audit_entries,
    audit_entry_agencies,
    audit_entry_subjects
);

diesel::table! {
    incidents (id) {
        id -> Text,
        reporting_agency_id -> Text,
        reference -> Text,
        area -> Text,
        classification -> Text,
        body -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    routing_decisions (incident_id, agency_id) {
        incident_id -> Text,
        agency_id -> Text,
        route -> Text,
        purpose -> Text,
        decision -> Text,
        reasons -> Text,
        agreement_id -> Nullable<Text>,
        agreement_version -> Nullable<Integer>,
        fields -> Text,
        incident_version -> Integer,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        agency_id -> Text,
        discloser_agency_id -> Text,
        record_kind -> Text,
        record_id -> Text,
        event -> Text,
        purpose -> Text,
        classification -> Text,
        child_at_risk -> Bool,
        created_at -> Timestamp,
        due_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
        escalated_at -> Nullable<Timestamp>,
    }
}
