//! Registering agencies, changing them and registering their identity providers. Each
//! change appends a `governance` entry to the audit log in the same transaction. The async
//! functions are the use cases, one write intent each; the synchronous bodies compose
//! inside a caller's transaction (the dev seed, tests).
use super::hub::Hub;
use super::refusal;
use chrono::{DateTime, Utc};

use crate::audit;
use crate::domain::agency::{Agency, AgencyPatch, IdentityProvider, NewAgency};
use crate::domain::audit::{Actor, Decision, NewEntry, Operation};
use crate::domain::ids::AgencyId;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agencies, identity_providers, DbConn};
use crate::usecase::idempotency::{self, Done, Once, Shape};

/// The governance entry for a change to an agency's registration; it concerns the agency,
/// so the agency's own IG officer sees it.
fn governance(
    actor: &Actor,
    now: DateTime<Utc>,
    kind: &str,
    id: AgencyId,
    fields: &[&str],
    what: &str,
) -> NewEntry {
    NewEntry::new(Operation::Governance, actor.clone(), now)
        .record(kind, id)
        .concerns(vec![id])
        .data_items(fields.iter().map(|f| (*f).to_owned()).collect())
        .decision(Decision::Allowed, vec![what.to_owned()])
}

/// Registers a new agency (hub_admin, checked by the caller's extractor), inside the
/// caller's transaction.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    new: NewAgency,
    now: DateTime<Utc>,
) -> Result<Agency, AppError> {
    if agencies::get_by_name(conn, &new.name)?.is_some() {
        return Err(AppError::conflict(format!(
            "an agency named `{}` already exists",
            new.name
        )));
    }
    let agency = Agency {
        id: AgencyId::new(),
        name: new.name,
        kind: new.kind,
        areas: new.areas,
        first_responder: new.first_responder,
        contact_email: new.contact_email,
        created_at: now,
        updated_at: now,
    };
    agencies::insert(conn, &agency)?;
    let fields = ["name", "kind", "areas", "first_responder", "contact_email"];
    audit::append(
        conn,
        &governance(
            actor,
            now,
            "agency",
            agency.id,
            &fields,
            "agency registered",
        ),
    )?;
    Ok(agency)
}

/// Changes an agency. The hub operator may change anything; an agency's own administrator
/// only its contact address (name, kind, areas and first-responder status drive routing and
/// the NRM rules, so they stay with the operator). Others are refused (403); an unknown
/// agency is a logged 404.
pub(crate) fn update_in(
    conn: &mut DbConn,
    actor: &Principal,
    id: AgencyId,
    patch: AgencyPatch,
    now: DateTime<Utc>,
) -> Result<Agency, AppError> {
    let operator = actor.has_any(&[Role::HubAdmin]);
    let own_admin = actor.acts_for(id) && actor.has_any(&[Role::AgencyAdmin]);
    let who = Actor::from(actor);
    if !(operator || own_admin) {
        return Err(refusal::forbidden(
            &who,
            "agency",
            id,
            now,
            "only the hub operator or this agency's admin",
        ));
    }
    if !operator && patch.needs_operator() {
        return Err(refusal::forbidden(
            &who,
            "agency",
            id,
            now,
            "an agency admin may change only contact_email; ask the hub operator",
        ));
    }
    let mut agency =
        agencies::get(conn, id)?.ok_or_else(|| refusal::not_found(&who, "agency", id, now))?;
    if let Some(name) = &patch.name {
        if let Some(other) = agencies::get_by_name(conn, name)? {
            if other.id != id {
                return Err(AppError::conflict(format!(
                    "an agency named `{name}` already exists"
                )));
            }
        }
    }
    patch.apply(&mut agency, now);
    agencies::update(conn, &agency)?;
    let changed: Vec<&str> = [
        ("name", patch.name.is_some()),
        ("kind", patch.kind.is_some()),
        ("areas", patch.areas.is_some()),
        ("first_responder", patch.first_responder.is_some()),
        ("contact_email", patch.contact_email.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, set)| set.then_some(f))
    .collect();
    audit::append(
        conn,
        &governance(
            &Actor::from(actor),
            now,
            "agency",
            id,
            &changed,
            "agency changed",
        ),
    )?;
    Ok(agency)
}

/// Registers or replaces the identity provider of an agency; an unknown agency is a logged
/// 404.
pub(crate) fn set_identity_provider_in(
    conn: &mut DbConn,
    actor: &Actor,
    provider: IdentityProvider,
    now: DateTime<Utc>,
) -> Result<IdentityProvider, AppError> {
    if agencies::get(conn, provider.agency_id)?.is_none() {
        return Err(refusal::not_found(actor, "agency", provider.agency_id, now));
    }
    if let Some(existing) = identity_providers::by_issuer(conn, &provider.issuer)? {
        if existing.agency_id != provider.agency_id {
            return Err(AppError::conflict(
                "this issuer already speaks for another agency; one issuer, one agency",
            ));
        }
    }
    let replaced = identity_providers::of_agency(conn, provider.agency_id)?.is_some();
    identity_providers::upsert(conn, &provider, now)?;
    let fields = [
        "issuer",
        "audience",
        "roles_claim",
        "role_map",
        "accept_jwt_typ",
        "console",
    ];
    let what = if replaced {
        "identity provider replaced"
    } else {
        "identity provider registered"
    };
    audit::append(
        conn,
        &governance(
            actor,
            now,
            "identity_provider",
            provider.agency_id,
            &fields,
            what,
        ),
    )?;
    Ok(provider)
}

/// Registers a new agency.
pub async fn register(
    hub: &Hub,
    actor: Principal,
    new: NewAgency,
    once: Once,
    shape: impl Shape<Agency>,
) -> Result<Done<Agency>, AppError> {
    let now = hub.now();
    let action = move |c: &mut DbConn| create(c, &Actor::from(&actor), new, now);
    idempotency::write(hub, once, action, shape).await
}

/// Changes agency `id` (the hub operator anything, the agency's own admin its contact).
pub async fn update(
    hub: &Hub,
    actor: Principal,
    id: AgencyId,
    patch: AgencyPatch,
) -> Result<Agency, AppError> {
    let now = hub.now();
    hub.write(move |c| update_in(c, &actor, id, patch, now))
        .await
}

/// Registers or replaces the identity provider of its agency.
pub async fn set_identity_provider(
    hub: &Hub,
    actor: Principal,
    mut provider: IdentityProvider,
) -> Result<IdentityProvider, AppError> {
    let now = hub.now();
    seal_console_secret(hub, &mut provider)?;
    hub.write(move |c| set_identity_provider_in(c, &Actor::from(&actor), provider, now))
        .await
}

/// What the console's client secret is sealed for: its agency.
pub(in crate::service) fn console_secret_aad(agency: AgencyId) -> String {
    format!("console-client:{agency}")
}

/// Seals a plain console client secret before it is stored.
fn seal_console_secret(hub: &Hub, provider: &mut IdentityProvider) -> Result<(), AppError> {
    use crate::domain::agency::ClientSecret;
    let aad = console_secret_aad(provider.agency_id);
    if let Some(console) = provider.console.as_mut() {
        if let Some(ClientSecret::Plain(plain)) = &console.client_secret {
            let sealed = hub.secrets().seal(&aad, plain)?;
            console.client_secret = Some(ClientSecret::Sealed(sealed));
        }
    }
    Ok(())
}
