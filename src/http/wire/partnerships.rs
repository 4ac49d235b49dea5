//! Partnership, membership and terms-of-reference request and response bodies.
use super::present::present;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::ids::AgencyId;
use crate::domain::partnership::{
    parse_terms, Acceptance, NewPartnership, Partnership, Terms, TermsContent,
};
use crate::error::AppError;
use crate::usecase::partnerships::PartnershipDetail;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePartnership {
    pub name: Option<String>,
    pub areas: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub lead_agency_id: Option<String>,
}

impl CreatePartnership {
    pub fn parse(self) -> Result<NewPartnership, AppError> {
        NewPartnership::parse(
            self.name.as_deref(),
            self.areas.as_deref(),
            self.lead_agency_id.as_deref(),
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    pub agency_id: Option<String>,
}

impl AddMember {
    pub fn parse(self) -> Result<AgencyId, AppError> {
        match self.agency_id {
            None => Err(AppError::validation("/agency_id", "is required")),
            Some(a) => a
                .parse()
                .map_err(|_| AppError::validation("/agency_id", "is not an agency id")),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsibilityIn {
    pub agency_id: Option<String>,
    pub text: Option<String>,
    pub powers: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTerms {
    pub purpose: Option<String>,
    pub scope: Option<String>,
    #[serde(default)]
    pub responsibilities: Vec<ResponsibilityIn>,
    pub review_date: Option<String>,
}

impl CreateTerms {
    pub fn parse(self, today: NaiveDate) -> Result<TermsContent, AppError> {
        let resp: Vec<(Option<&str>, Option<&str>, Option<&str>)> = self
            .responsibilities
            .iter()
            .map(|r| {
                (
                    r.agency_id.as_deref(),
                    r.text.as_deref(),
                    r.powers.as_deref(),
                )
            })
            .collect();
        parse_terms(
            self.purpose.as_deref(),
            self.scope.as_deref(),
            &resp,
            self.review_date.as_deref(),
            today,
        )
    }
}

#[derive(Debug, Serialize)]
pub struct MemberOut {
    pub agency_id: String,
    /// When it was invited, or once it accepted, when it joined.
    pub joined_at: DateTime<Utc>,
    /// `invited` until its own agency_admin accepts, then `member`.
    pub status: &'static str,
}

#[derive(Debug, Serialize)]
pub struct TermsSummary {
    pub version: i32,
    pub published_at: DateTime<Utc>,
    pub review_date: NaiveDate,
    pub accepted_by: Vec<String>,
    pub not_accepted_by: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PartnershipOut {
    pub id: String,
    pub name: String,
    pub areas: Vec<String>,
    pub lead_agency_id: Option<String>,
    pub members: Vec<MemberOut>,
    /// The current terms of reference and which members have accepted them.
    pub current_terms: Option<TermsSummary>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PartnershipOut {
    pub fn new(p: &Partnership, terms: Option<&Terms>, acceptances: &[Acceptance]) -> Self {
        let accepted: Vec<AgencyId> = acceptances.iter().map(|a| a.agency_id).collect();
        PartnershipOut {
            id: p.id.to_string(),
            name: p.name.clone(),
            areas: p.areas.iter().map(|a| a.as_str().to_owned()).collect(),
            lead_agency_id: p.lead_agency_id.map(|a| a.to_string()),
            members: p
                .members
                .iter()
                .map(|m| MemberOut {
                    agency_id: m.agency_id.to_string(),
                    joined_at: m.joined_at,
                    status: m.status.as_str(),
                })
                .collect(),
            current_terms: terms.map(|t| TermsSummary {
                version: t.version,
                published_at: t.published_at,
                review_date: t.content.review_date,
                accepted_by: accepted.iter().map(ToString::to_string).collect(),
                not_accepted_by: p
                    .members
                    .iter()
                    .filter(|m| !accepted.contains(&m.agency_id))
                    .map(|m| m.agency_id.to_string())
                    .collect(),
            }),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl From<&PartnershipDetail> for PartnershipOut {
    fn from(d: &PartnershipDetail) -> Self {
        PartnershipOut::new(&d.partnership, d.terms.as_ref(), &d.acceptances)
    }
}

#[derive(Debug, Serialize)]
pub struct ResponsibilityOut {
    pub agency_id: String,
    pub text: String,
    pub powers: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AcceptanceOut {
    pub agency_id: String,
    pub version: i32,
    pub accepted_at: DateTime<Utc>,
    pub accepted_by: SignerOut,
}

#[derive(Debug, Serialize)]
pub struct SignerOut {
    pub issuer: String,
    pub subject: String,
}

impl From<&Acceptance> for AcceptanceOut {
    fn from(a: &Acceptance) -> Self {
        AcceptanceOut {
            agency_id: a.agency_id.to_string(),
            version: a.version,
            accepted_at: a.accepted_at,
            accepted_by: SignerOut {
                issuer: a.accepted_by.issuer.clone(),
                subject: a.accepted_by.subject.clone(),
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TermsOut {
    pub partnership_id: String,
    pub version: i32,
    /// Whether this is the current version (the one members must have accepted).
    pub current: bool,
    pub purpose: String,
    pub scope: String,
    pub responsibilities: Vec<ResponsibilityOut>,
    pub review_date: NaiveDate,
    pub published_at: DateTime<Utc>,
    pub published_by: SignerOut,
    pub acceptances: Vec<AcceptanceOut>,
}

impl TermsOut {
    pub fn new(t: &Terms, acceptances: &[Acceptance], latest: i32) -> Self {
        TermsOut {
            partnership_id: t.partnership_id.to_string(),
            version: t.version,
            current: t.version == latest,
            purpose: t.content.purpose.clone(),
            scope: t.content.scope.clone(),
            responsibilities: t
                .content
                .responsibilities
                .iter()
                .map(|r| ResponsibilityOut {
                    agency_id: r.agency_id.to_string(),
                    text: r.text.clone(),
                    powers: r.powers.clone(),
                })
                .collect(),
            review_date: t.content.review_date,
            published_at: t.published_at,
            published_by: SignerOut {
                issuer: t.published_by.issuer.clone(),
                subject: t.published_by.subject.clone(),
            },
            acceptances: acceptances.iter().map(AcceptanceOut::from).collect(),
        }
    }
}

/// The answer to inviting, accepting or declining: the partnership as it now stands, with
/// the `agency_id` concerned and its `status` (`invited`, `member` or `declined`).
pub fn membership_body(partnership: PartnershipOut, agency: AgencyId, status: &str) -> Value {
    let mut v = serde_json::to_value(partnership).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("agency_id".into(), Value::from(agency.to_string()));
        o.insert("status".into(), Value::from(status));
    }
    v
}
