//! The authenticated caller and the one role check the extractors use.
use crate::domain::ids::AgencyId;
use crate::domain::role::{Role, RoleSet};

/// Who is calling: the issuer and subject of a checked token, the agency that issuer speaks
/// for (none for the hub operator's issuers) and the hub roles mapped from its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub issuer: String,
    pub subject: String,
    pub agency_id: Option<AgencyId>,
    pub roles: RoleSet,
    /// The OAuth client the token was issued to (`client_id`, RFC 9068), if given.
    pub client_id: Option<String>,
}

impl Principal {
    /// Whether the caller holds at least one of `roles`. This is the only role test in the
    /// hub; the extractors in `http::extract` call it.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.roles.any_of(roles)
    }

    /// Whether the caller acts for the hub operator rather than an agency.
    pub fn is_operator(&self) -> bool {
        self.agency_id.is_none()
    }

    /// The agency the caller acts for; the hub operator has none, so an action that belongs
    /// to an agency is forbidden to it.
    pub fn agency(&self) -> Result<AgencyId, crate::error::AppError> {
        self.agency_id.ok_or_else(|| {
            crate::error::AppError::Forbidden("this action belongs to an agency's staff".into())
        })
    }

    /// Whether the caller acts for `agency`.
    pub fn acts_for(&self, agency: AgencyId) -> bool {
        self.agency_id == Some(agency)
    }
}

impl From<&Principal> for crate::domain::audit::Actor {
    /// The audit log's view of a caller: agency, issuer, subject and hub roles (never the
    /// token itself).
    fn from(p: &Principal) -> Self {
        crate::domain::audit::Actor {
            agency_id: p.agency_id,
            issuer: p.issuer.clone(),
            subject: p.subject.clone(),
            roles: p.roles.iter().collect(),
        }
    }
}
