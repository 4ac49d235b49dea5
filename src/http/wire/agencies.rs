//! Agency and identity-provider request and response bodies.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::present::present;

use crate::domain::agency::{
    parse_areas, parse_email, parse_kind, parse_name, Agency, AgencyPatch, IdentityProvider,
    NewAgency,
};
use crate::domain::validate::Errors;
use crate::error::AppError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAgency {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub areas: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub first_responder: Option<bool>,
    pub contact_email: Option<String>,
}

impl CreateAgency {
    pub fn parse(self) -> Result<NewAgency, AppError> {
        let mut e = Errors::new();
        let name = parse_name(&mut e, "/name", self.name.as_deref());
        let kind = parse_kind(&mut e, "/kind", self.kind.as_deref());
        let areas = match &self.areas {
            None => {
                e.add("/areas", "is required");
                None
            }
            Some(a) => parse_areas(&mut e, "/areas", a),
        };
        let email = match &self.contact_email {
            None => {
                e.add("/contact_email", "is required");
                None
            }
            Some(m) => parse_email(&mut e, "/contact_email", m),
        };
        e.finish()?;
        match (name, kind, areas, email) {
            (Some(name), Some(kind), Some(areas), Some(contact_email)) => Ok(NewAgency {
                name,
                kind,
                areas,
                first_responder: self
                    .first_responder
                    .unwrap_or_else(|| kind.is_statutory_first_responder()),
                contact_email,
            }),
            _ => Err(AppError::validation("", "invalid agency")),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchAgency {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub areas: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub first_responder: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub contact_email: Option<String>,
}

impl PatchAgency {
    pub fn parse(self) -> Result<AgencyPatch, AppError> {
        let mut e = Errors::new();
        let patch = AgencyPatch {
            name: self
                .name
                .as_deref()
                .and_then(|n| parse_name(&mut e, "/name", Some(n))),
            kind: self
                .kind
                .as_deref()
                .and_then(|k| parse_kind(&mut e, "/kind", Some(k))),
            areas: self
                .areas
                .as_deref()
                .and_then(|a| parse_areas(&mut e, "/areas", a)),
            first_responder: self.first_responder,
            contact_email: self
                .contact_email
                .as_deref()
                .and_then(|m| parse_email(&mut e, "/contact_email", m)),
        };
        e.finish()?;
        Ok(patch)
    }
}

#[derive(Debug, Serialize)]
pub struct AgencyOut {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub areas: Vec<String>,
    pub first_responder: bool,
    pub contact_email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Agency> for AgencyOut {
    fn from(a: &Agency) -> Self {
        AgencyOut {
            id: a.id.to_string(),
            name: a.name.clone(),
            kind: a.kind.as_str(),
            areas: a.areas.iter().map(|g| g.as_str().to_owned()).collect(),
            first_responder: a.first_responder,
            contact_email: a.contact_email.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutIdentityProvider {
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub roles_claim: Option<String>,
    pub role_map: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub accept_jwt_typ: bool,
    /// The IG console's OpenID client at this issuer.
    pub console: Option<PutConsoleClient>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutConsoleClient {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub redirect_uri: Option<String>,
}

/// The console's client as answered: the secret is never returned, only whether one is set.
#[derive(Debug, Serialize)]
pub struct ConsoleClientOut {
    pub client_id: String,
    pub redirect_uri: String,
    pub has_client_secret: bool,
}

#[derive(Debug, Serialize)]
pub struct IdentityProviderOut {
    pub agency_id: String,
    pub issuer: String,
    pub audience: String,
    pub roles_claim: String,
    pub role_map: BTreeMap<String, &'static str>,
    pub accept_jwt_typ: bool,
    pub console: Option<ConsoleClientOut>,
}

impl From<&IdentityProvider> for IdentityProviderOut {
    fn from(p: &IdentityProvider) -> Self {
        IdentityProviderOut {
            agency_id: p.agency_id.to_string(),
            issuer: p.issuer.clone(),
            audience: p.audience.clone(),
            roles_claim: p.roles_claim.clone(),
            role_map: p
                .role_map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str()))
                .collect(),
            accept_jwt_typ: p.accept_jwt_typ,
            console: p.console.as_ref().map(|c| ConsoleClientOut {
                client_id: c.client_id.clone(),
                redirect_uri: c.redirect_uri.clone(),
                has_client_secret: c.client_secret.is_some(),
            }),
        }
    }
}

/// `GET /me`.
#[derive(Debug, Serialize)]
pub struct MeOut {
    pub agency_id: Option<String>,
    pub agency_name: Option<String>,
    pub issuer: String,
    pub subject: String,
    pub roles: Vec<&'static str>,
    pub client_id: Option<String>,
}
