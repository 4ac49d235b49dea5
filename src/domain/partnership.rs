//! Modern slavery partnerships (strategic forums): member agencies, an optional lead agency,
//! and versioned terms of reference that each member accepts through its `agency_admin`.
//! An agency joins only by its own act: an added agency is `invited` until its
//! `agency_admin` accepts, and an invited agency is not a member (it has no lead's rights,
//! takes no part in agreements and is not escalated to or about).
//! Publishing a new version makes it current at once; acceptances of older versions no
//! longer count, so every member must accept again.
use chrono::{DateTime, NaiveDate, Utc};

use super::agency::{parse_areas, GssCode};
use super::ids::{AgencyId, PartnershipId};
use super::validate::{required_text, Errors};
use crate::error::AppError;

/// A partnership and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partnership {
    pub id: PartnershipId,
    pub name: String,
    pub areas: Vec<GssCode>,
    /// The agency that chairs the partnership: once it is a member, its `agency_admin`
    /// manages members and terms, and escalations go to it.
    pub lead_agency_id: Option<AgencyId>,
    pub members: Vec<Member>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Partnership {
    /// Whether `agency` has joined (an invited agency has not).
    pub fn is_member(&self, agency: AgencyId) -> bool {
        self.status_of(agency) == Some(MemberStatus::Member)
    }

    /// Whether `agency` is invited and has not answered yet.
    pub fn is_invited(&self, agency: AgencyId) -> bool {
        self.status_of(agency) == Some(MemberStatus::Invited)
    }

    /// `agency`'s standing in the partnership, if it was ever added.
    pub fn status_of(&self, agency: AgencyId) -> Option<MemberStatus> {
        self.members
            .iter()
            .find(|m| m.agency_id == agency)
            .map(|m| m.status)
    }

    /// The lead agency, once it has joined: only then does it have a lead's rights.
    pub fn acting_lead(&self) -> Option<AgencyId> {
        self.lead_agency_id.filter(|l| self.is_member(*l))
    }
}

/// Whether an added agency has joined yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    /// Added by the partnership's manager; not a member until its `agency_admin` accepts.
    Invited,
    /// Joined by its own act.
    Member,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Invited => "invited",
            MemberStatus::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "invited" => Some(MemberStatus::Invited),
            "member" => Some(MemberStatus::Member),
            _ => None,
        }
    }
}

/// An agency added to the partnership: when it was added (or, once it accepted, when it
/// joined) and whether it has joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub agency_id: AgencyId,
    pub joined_at: DateTime<Utc>,
    pub status: MemberStatus,
}

/// A validated request to create a partnership.
#[derive(Debug, Clone)]
pub struct NewPartnership {
    pub name: String,
    pub areas: Vec<GssCode>,
    pub lead_agency_id: Option<AgencyId>,
}

impl NewPartnership {
    pub fn parse(
        name: Option<&str>,
        areas: Option<&[String]>,
        lead_agency_id: Option<&str>,
    ) -> Result<Self, AppError> {
        let mut e = Errors::new();
        let name = match name {
            None => {
                e.add("/name", "is required");
                None
            }
            Some(n) => e.take("/name", required_text(n, 200)),
        };
        let areas = match areas {
            None => {
                e.add("/areas", "is required");
                None
            }
            Some(a) => parse_areas(&mut e, "/areas", a),
        };
        let lead = lead_agency_id.and_then(|l| {
            e.take(
                "/lead_agency_id",
                l.parse::<AgencyId>().map_err(|_| "is not an agency id"),
            )
        });
        e.finish()?;
        match (name, areas) {
            (Some(name), Some(areas)) => Ok(NewPartnership {
                name,
                areas,
                lead_agency_id: lead,
            }),
            _ => Err(AppError::validation("", "invalid partnership")),
        }
    }
}

/// One member's responsibilities and powers under a version of the terms.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Responsibility {
    pub agency_id: AgencyId,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub powers: Option<String>,
}

/// The content of a version of the terms of reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsContent {
    pub purpose: String,
    pub scope: String,
    pub responsibilities: Vec<Responsibility>,
    pub review_date: NaiveDate,
}

/// A published version of the terms of reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub partnership_id: PartnershipId,
    pub version: i32,
    pub content: TermsContent,
    pub published_at: DateTime<Utc>,
    pub published_by: Signer,
}

/// Who acted for an agency (kept as evidence on signatures and acceptances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub agency_id: Option<AgencyId>,
    pub issuer: String,
    pub subject: String,
}

/// An agency's acceptance of one version of the terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub version: i32,
    pub agency_id: AgencyId,
    pub accepted_at: DateTime<Utc>,
    pub accepted_by: Signer,
}

/// What the policy function needs to know about a partnership's terms over time: when each
/// version was published and who accepted which version when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermsHistory {
    /// `(version, published_at)`.
    pub versions: Vec<(i32, DateTime<Utc>)>,
    /// `(version, agency, accepted_at)`.
    pub acceptances: Vec<(i32, AgencyId, DateTime<Utc>)>,
}

impl TermsHistory {
    /// The version current at `at`: the highest one published by then.
    pub fn current(&self, at: DateTime<Utc>) -> Option<i32> {
        self.versions
            .iter()
            .filter(|(_, p)| *p <= at)
            .map(|(v, _)| *v)
            .max()
    }

    /// Whether `agency` had accepted `version` by `at`.
    pub fn accepted(&self, version: i32, agency: AgencyId, at: DateTime<Utc>) -> bool {
        self.acceptances
            .iter()
            .any(|(v, a, t)| *v == version && *a == agency && *t <= at)
    }
}

/// Parses a calendar date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| "must be a date in the form YYYY-MM-DD".to_owned())
}

/// Validates the content of new terms against the partnership's members; `today` is the
/// date by the hub's clock (a review date in the past is refused).
pub fn parse_terms(
    purpose: Option<&str>,
    scope: Option<&str>,
    responsibilities: &[(Option<&str>, Option<&str>, Option<&str>)],
    review_date: Option<&str>,
    today: NaiveDate,
) -> Result<TermsContent, AppError> {
    let mut e = Errors::new();
    let purpose = match purpose {
        None => {
            e.add("/purpose", "is required");
            None
        }
        Some(p) => e.take("/purpose", required_text(p, 10_000)),
    };
    let scope = match scope {
        None => {
            e.add("/scope", "is required");
            None
        }
        Some(s) => e.take("/scope", required_text(s, 10_000)),
    };
    let mut resp = Vec::with_capacity(responsibilities.len());
    for (i, (agency, text, powers)) in responsibilities.iter().enumerate() {
        let at = format!("/responsibilities/{i}");
        let agency_id = match agency {
            None => {
                e.add(format!("{at}/agency_id"), "is required");
                None
            }
            Some(a) => e.take(
                format!("{at}/agency_id"),
                a.parse::<AgencyId>().map_err(|_| "is not an agency id"),
            ),
        };
        if let Some(id) = agency_id {
            if resp.iter().any(|r: &Responsibility| r.agency_id == id) {
                e.add(
                    format!("{at}/agency_id"),
                    "this agency already has responsibilities",
                );
            }
        }
        let text = match text {
            None => {
                e.add(format!("{at}/text"), "is required");
                None
            }
            Some(t) => e.take(format!("{at}/text"), required_text(t, 10_000)),
        };
        let powers = powers.and_then(|p| e.take(format!("{at}/powers"), required_text(p, 10_000)));
        if let (Some(agency_id), Some(text)) = (agency_id, text) {
            resp.push(Responsibility {
                agency_id,
                text,
                powers,
            });
        }
    }
    let review = match review_date {
        None => {
            e.add("/review_date", "is required");
            None
        }
        Some(d) => match parse_date(d) {
            Ok(d) if d < today => {
                e.add(
                    "/review_date",
                    format!("must not be in the past (today is {today})"),
                );
                None
            }
            Ok(d) => Some(d),
            Err(m) => {
                e.add("/review_date", m);
                None
            }
        },
    };
    e.finish()?;
    match (purpose, scope, review) {
        (Some(purpose), Some(scope), Some(review_date)) => Ok(TermsContent {
            purpose,
            scope,
            responsibilities: resp,
            review_date,
        }),
        _ => Err(AppError::validation("", "invalid terms of reference")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_current_version_is_the_latest_published() {
        let a = AgencyId::new();
        let h = TermsHistory {
            versions: vec![
                (1, t("2026-01-01T00:00:00Z")),
                (2, t("2026-03-01T00:00:00Z")),
            ],
            acceptances: vec![(1, a, t("2026-01-02T00:00:00Z"))],
        };
        assert_eq!(h.current(t("2025-12-31T00:00:00Z")), None);
        assert_eq!(h.current(t("2026-02-01T00:00:00Z")), Some(1));
        assert_eq!(h.current(t("2026-03-01T00:00:00Z")), Some(2));
        assert!(h.accepted(1, a, t("2026-02-01T00:00:00Z")));
        assert!(!h.accepted(1, a, t("2026-01-01T12:00:00Z")));
        assert!(!h.accepted(2, a, t("2026-04-01T00:00:00Z")));
    }

    #[test]
    fn terms_are_validated_with_pointers() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let err = parse_terms(
            Some(" "),
            None,
            &[(Some("nope"), Some("x"), None)],
            Some("2026-05-31"),
            today,
        )
        .unwrap_err();
        match err {
            AppError::Validation(v) => {
                let p: Vec<_> = v.iter().map(|f| f.pointer.as_str()).collect();
                assert_eq!(
                    p,
                    [
                        "/purpose",
                        "/scope",
                        "/responsibilities/0/agency_id",
                        "/review_date"
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
