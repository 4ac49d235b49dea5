//! Seeding the demo agencies of `serve --dev` and pointing them at the local dev issuers
//! (and, through `dev_sharing`, their partnership and signed agreement). The hub itself acts
//! ([`Actor::system`]); every change is a `governance` entry.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::agency::{
    ConsoleClient, GssCode, IdentityProvider, NewAgency, CONSOLE_CALLBACK_PATH,
};
use crate::domain::audit::Actor;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::identity::dev::{
    DevIssuer, DevStateAgency, DEMO_AGENCIES, DEV_AUDIENCE, DEV_CONSOLE_CLIENT,
};
use crate::service::store::{agencies, identity_providers, DbConn};

/// Creates the demo agencies that do not exist yet and (re)registers their dev issuers at
/// `base_url`. Returns what `dev-token` needs to know.
pub fn seed(
    conn: &mut DbConn,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<Vec<DevStateAgency>, AppError> {
    let actor = Actor::system();
    let mut out = Vec::with_capacity(DEMO_AGENCIES.len());
    for demo in DEMO_AGENCIES {
        let agency = match agencies::get_by_name(conn, demo.name)? {
            Some(a) => a,
            None => {
                let areas = demo
                    .areas
                    .iter()
                    .map(|a| GssCode::parse(a).map_err(AppError::internal))
                    .collect::<Result<Vec<_>, _>>()?;
                super::agencies::create(
                    conn,
                    &actor,
                    NewAgency {
                        name: demo.name.to_owned(),
                        kind: demo.kind,
                        areas,
                        first_responder: demo.first_responder,
                        contact_email: demo.contact_email.to_owned(),
                    },
                    now,
                )?
            }
        };
        let role_map: BTreeMap<String, Role> = [
            Role::AgencyAdmin,
            Role::IgOfficer,
            Role::Practitioner,
            Role::Analyst,
            Role::Commissioner,
        ]
        .into_iter()
        .map(|r| (r.as_str().to_owned(), r))
        .collect();
        let provider = IdentityProvider {
            agency_id: agency.id,
            issuer: DevIssuer::issuer_url(base_url, demo.slug),
            audience: DEV_AUDIENCE.to_owned(),
            roles_claim: "roles".to_owned(),
            role_map,
            accept_jwt_typ: false,
            console: Some(ConsoleClient {
                client_id: DEV_CONSOLE_CLIENT.to_owned(),
                client_secret: None,
                redirect_uri: format!("{}{CONSOLE_CALLBACK_PATH}", base_url.trim_end_matches('/')),
            }),
        };
        // Re-registered only when the base URL changed, so restarts add no entries.
        if identity_providers::of_agency(conn, agency.id)?.as_ref() != Some(&provider) {
            super::agencies::set_identity_provider_in(conn, &actor, provider, now)?;
        }
        out.push(DevStateAgency {
            slug: demo.slug.to_owned(),
            id: agency.id.to_string(),
            name: agency.name,
        });
    }
    super::dev_sharing::seed(conn, &out, base_url, now)?;
    super::dev_support::seed(conn, &out, base_url, now)?;
    Ok(out)
}

/// The dev issuers still registered for demo agencies (issuers at `/dev-issuer/{slug}` for a
/// demo slug): a database that `serve --dev` seeded. Served without `--dev`, the hub refuses
/// to start on it, since its demo agencies' dev issuers and signed demo agreement would
/// otherwise keep working outside development.
pub fn leftovers(conn: &mut DbConn) -> Result<Vec<String>, AppError> {
    let tails: Vec<String> = DEMO_AGENCIES
        .iter()
        .map(|d| format!("/dev-issuer/{}", d.slug))
        .collect();
    Ok(identity_providers::issuers(conn)?
        .into_iter()
        .filter(|i| tails.iter().any(|t| i.ends_with(t.as_str())))
        .collect())
}
