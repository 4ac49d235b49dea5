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
        console_client_id -> Nullable<Text>,
        console_client_secret -> Nullable<Text>,
        console_redirect_uri -> Nullable<Text>,
    }
}

diesel::table! {
    console_sign_ins (handle_hash) {
        handle_hash -> Text,
        agency_id -> Text,
        state -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        next_path -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    console_sessions (id) {
        id -> Text,
        handle_hash -> Text,
        agency_id -> Text,
        issuer -> Text,
        subject -> Text,
        roles -> Text,
        display_name -> Text,
        csrf_token -> Text,
        purpose -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
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
        lease_token -> Nullable<Text>,
    }
}

// The audit trail (migration 2026-11-26-000002_audit); written only by `crate::audit`.
diesel::table! {
    policy_epoch (id) {
        id -> Integer,
        epoch -> BigInt,
    }
}

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
        // migration 2026-12-01-000009_escalation_notifications
        overdue_agency_id -> Nullable<Text>,
        overdue_notification_id -> Nullable<Text>,
    }
}

// Partnerships, terms of reference and data-sharing agreements (migration
// 2026-11-26-000003_agreements).
diesel::table! {
    partnerships (id) {
        id -> Text,
        name -> Text,
        lead_agency_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    partnership_areas (partnership_id, area) {
        partnership_id -> Text,
        area -> Text,
    }
}

diesel::table! {
    partnership_members (partnership_id, agency_id) {
        partnership_id -> Text,
        agency_id -> Text,
        joined_at -> Timestamp,
        // migration 2026-12-01-000008_partnership_invitations: `invited` or `member`
        status -> Text,
    }
}

diesel::table! {
    terms_versions (partnership_id, version) {
        partnership_id -> Text,
        version -> Integer,
        purpose -> Text,
        scope -> Text,
        responsibilities -> Text,
        review_date -> Date,
        published_at -> Timestamp,
        published_by_agency_id -> Nullable<Text>,
        published_by_issuer -> Text,
        published_by_subject -> Text,
    }
}

diesel::table! {
    terms_acceptances (partnership_id, version, agency_id) {
        partnership_id -> Text,
        version -> Integer,
        agency_id -> Text,
        accepted_at -> Timestamp,
        accepted_by_issuer -> Text,
        accepted_by_subject -> Text,
    }
}

diesel::table! {
    agreements (id) {
        id -> Text,
        partnership_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        terminated_at -> Nullable<Timestamp>,
        terminated_by_agency_id -> Nullable<Text>,
        terminated_by_issuer -> Nullable<Text>,
        terminated_by_subject -> Nullable<Text>,
        termination_reason -> Nullable<Text>,
    }
}

diesel::table! {
    agreement_versions (agreement_id, version) {
        agreement_id -> Text,
        version -> Integer,
        title -> Text,
        purposes -> Text,
        max_classification -> Text,
        effective_from -> Timestamp,
        expires_at -> Timestamp,
        review_date -> Date,
        retention_days -> BigInt,
        details -> Text,
        created_at -> Timestamp,
        created_by_agency_id -> Nullable<Text>,
        created_by_issuer -> Text,
        created_by_subject -> Text,
    }
}

diesel::table! {
    agreement_parties (agreement_id, version, agency_id) {
        agreement_id -> Text,
        version -> Integer,
        agency_id -> Text,
        position -> Integer,
        role -> Text,
        regime -> Text,
        lawful_condition -> Text,
        special_category -> Nullable<Text>,
        contact -> Nullable<Text>,
    }
}

diesel::table! {
    agreement_data_items (agreement_id, version, recipient_agency_id, record_kind) {
        agreement_id -> Text,
        version -> Integer,
        recipient_agency_id -> Text,
        record_kind -> Text,
        position -> Integer,
        fields -> Text,
    }
}

diesel::table! {
    agreement_signatures (agreement_id, version, agency_id) {
        agreement_id -> Text,
        version -> Integer,
        agency_id -> Text,
        signed_at -> Timestamp,
        signer_issuer -> Text,
        signer_subject -> Text,
    }
}

diesel::table! {
    agreement_suspensions (id) {
        id -> Text,
        agreement_id -> Text,
        suspended_at -> Timestamp,
        suspended_by_agency_id -> Nullable<Text>,
        suspended_by_issuer -> Text,
        suspended_by_subject -> Text,
        reason -> Text,
        lifted_at -> Nullable<Timestamp>,
        lifted_by_agency_id -> Nullable<Text>,
        lifted_by_issuer -> Nullable<Text>,
        lifted_by_subject -> Nullable<Text>,
        lift_note -> Nullable<Text>,
    }
}

diesel::joinable!(partnership_areas -> partnerships (partnership_id));
diesel::joinable!(partnership_members -> partnerships (partnership_id));
diesel::joinable!(agreements -> partnerships (partnership_id));
diesel::allow_tables_to_appear_in_same_query!(
    partnerships,
    partnership_areas,
    partnership_members,
    agreements,
    agreement_parties
);

// NGO referrals through the NRM pathway (migration 2026-11-26-000006_referrals).
diesel::table! {
    referrals (id) {
        id -> Text,
        referring_agency_id -> Text,
        area -> Text,
        classification -> Text,
        pathway -> Text,
        status -> Text,
        child -> Bool,
        body -> Text,
        ack_due_at -> Timestamp,
        rg_due_at -> Nullable<Timestamp>,
        rg_escalated_at -> Nullable<Timestamp>,
        nrm_submitted_by -> Nullable<Text>,
        consent_withdrawn_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    referral_events (id) {
        id -> Text,
        referral_id -> Text,
        seq -> Integer,
        kind -> Text,
        from_status -> Text,
        to_status -> Text,
        agency_id -> Text,
        issuer -> Text,
        subject -> Text,
        note -> Nullable<Text>,
        reason -> Nullable<Text>,
        ictg_role -> Nullable<Text>,
        occurred_at -> Timestamp,
        service_id -> Nullable<Text>,
    }
}

diesel::table! {
    referral_routing (referral_id, agency_id) {
        referral_id -> Text,
        agency_id -> Text,
        route -> Text,
        purpose -> Text,
        decision -> Text,
        reasons -> Text,
        agreement_id -> Nullable<Text>,
        agreement_version -> Nullable<Integer>,
        fields -> Text,
        notification_id -> Nullable<Text>,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (agency_id, idem_key) {
        agency_id -> Text,
        idem_key -> Text,
        scope -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    operator_idempotency_keys (owner, idem_key) {
        owner -> Text,
        idem_key -> Text,
        scope -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(referral_routing -> referrals (referral_id));
diesel::allow_tables_to_appear_in_same_query!(referrals, referral_routing);

// Commissioned support (migration 2026-12-01-000014_commissioned_support).
diesel::table! {
    support_providers (id) {
        id -> Text,
        registered_by_agency_id -> Text,
        name -> Text,
        registration_number -> Nullable<Text>,
        inspection -> Nullable<Text>,
        areas -> Text,
        safeguarding_contact -> Text,
        agency_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    support_contracts (id) {
        id -> Text,
        commissioner_agency_id -> Text,
        funding_stream -> Text,
        starts -> Date,
        ends -> Date,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    support_services (id) {
        id -> Text,
        provider_id -> Text,
        contract_id -> Text,
        name -> Text,
        service_type -> Text,
        stages -> Text,
        areas -> Text,
        languages -> Text,
        places -> Integer,
        capacity_unit -> Text,
        unit_amount -> Text,
        currency -> Text,
        unit_per -> Text,
        vat -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    support_service_areas (service_id, area) {
        service_id -> Text,
        area -> Text,
    }
}

diesel::table! {
    support_capacity_exceptions (id) {
        id -> Text,
        service_id -> Text,
        extra_places -> Integer,
        reason -> Text,
        starts_at -> Timestamp,
        ends_at -> Nullable<Timestamp>,
        recorded_by_agency_id -> Text,
        recorded_by_subject -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    support_placements (id) {
        id -> Text,
        referral_id -> Text,
        service_id -> Text,
        referring_agency_id -> Text,
        placed_by_agency_id -> Text,
        stage -> Text,
        area -> Text,
        started_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(support_services -> support_contracts (contract_id));
diesel::allow_tables_to_appear_in_same_query!(
    support_services,
    support_contracts,
    support_service_areas,
    support_placements
);

// Witnessing (audit evidence outside the hub).
diesel::table! {
    audit_cosignatures (tree_size, witness) {
        tree_size -> BigInt,
        witness -> Text,
        signature_line -> Text,
        cosigned_at -> Timestamp,
    }
}

diesel::table! {
    witness_logs (origin) {
        origin -> Text,
        tree_size -> BigInt,
        root_hash -> Binary,
        updated_at -> Timestamp,
    }
}

// ICTG monitoring (migration 2026-12-01-000021_ictg_monitoring).
diesel::table! {
    ictg_allocations (record_kind, record_id, victim) {
        record_kind -> Text,
        record_id -> Text,
        victim -> Integer,
        ictg_agency_id -> Text,
        ictg_role -> Text,
        allocated_at -> Timestamp,
        recorded_by_issuer -> Text,
        recorded_by_subject -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    ictg_escalations (record_kind, record_id, victim) {
        record_kind -> Text,
        record_id -> Text,
        victim -> Integer,
        ictg_agency_id -> Text,
        due_at -> Timestamp,
        escalated_at -> Timestamp,
    }
}

// Learning records (migration 2026-12-01-000022_learning_records).
diesel::table! {
    learning_records (id) {
        id -> Text,
        partnership_id -> Text,
        recorded_by_agency_id -> Text,
        recorded_by_subject -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    learning_recommendations (id) {
        id -> Text,
        learning_record_id -> Text,
        partnership_id -> Text,
        text -> Text,
        owner_agency_id -> Text,
        due_on -> Date,
        status -> Text,
        evidence -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        closed_by_agency_id -> Nullable<Text>,
        closed_by_subject -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}
