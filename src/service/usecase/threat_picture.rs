//! `GET /reports/threat-picture`: the partnership's strategic picture for an analyst or an
//! IG officer. Whose records are counted is the policy function's answer: the reader's own
//! agency's records, and those of every agency that may disclose to the reader's agency for
//! `strategic_analysis` under an agreement (of the partnership asked for, if one is), with
//! the fields the cut needs, for the record's kind and classification. The report names the
//! agencies covered and those left out with the reasons. Counts are published under the
//! small-number rule of `reports.*` in the configuration. Each report is a `consultation`
//! in the audit log, concerning every agency whose records it counted.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::audit;
use crate::domain::audit::{Actor, AgreementRef, Decision, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ids::{AgencyId, PartnershipId};
use crate::domain::partnership::MemberStatus;
use crate::domain::policy::{self, AgreementView, DisclosureRequest, PolicyDecision};
use crate::domain::report::threat_picture::{
    incident_facts, picture, referral_facts, Dimension, Fact, Picture, Query,
};
use crate::domain::sharing::{Classification, Purpose};
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agencies, agreements, incidents, partnerships, referrals, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::refusal;

/// The fields of `kind` a cut by `by` reads (an agreement must allow them all).
pub fn fields_needed(kind: RecordKind, by: &[Dimension]) -> Vec<String> {
    let mut out: Vec<&str> = match kind {
        RecordKind::Incident => vec!["occurred_at"],
        RecordKind::Referral => Vec::new(),
    };
    for d in by {
        let more: &[&str] = match (kind, d) {
            (_, Dimension::ExploitationType) => &["exploitation_types"],
            (_, Dimension::Area) => &["area"],
            (RecordKind::Incident, Dimension::Threat) => &["threats"],
            (RecordKind::Incident, Dimension::AgeBand) => &["victims[].age_band"],
            (RecordKind::Incident, Dimension::Pathway) => &["victims[].nrm_status"],
            (RecordKind::Incident, Dimension::FourP) => &["four_p", "outcomes[].four_p"],
            (RecordKind::Incident, Dimension::OutcomeType) => &["outcomes[].kind"],
            (RecordKind::Referral, Dimension::AgeBand) => &["potential_victim.age_band"],
            (RecordKind::Referral, Dimension::Pathway) => &["pathway"],
            (RecordKind::Referral, _) => &[],
        };
        out.extend_from_slice(more);
    }
    out.sort_unstable();
    out.dedup();
    out.into_iter().map(str::to_owned).collect()
}

/// One agency whose records (of one kind and classification) the report counts.
#[derive(Debug, Clone, Serialize)]
pub struct Covered {
    pub agency_id: AgencyId,
    pub agency_name: String,
    pub record_kind: RecordKind,
    pub classification: Classification,
    /// `own` (the reader's agency) or `agreement`.
    pub basis: &'static str,
    pub agreement: Option<AgreementRef>,
}

/// A partner whose records of a kind and classification are not counted, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Excluded {
    pub agency_id: AgencyId,
    pub record_kind: RecordKind,
    pub classification: Classification,
    pub reasons: Vec<String>,
}

/// The report with whose records it covers.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub picture: Picture,
    pub partnership_id: Option<PartnershipId>,
    pub generated_at: DateTime<Utc>,
    pub covers: Vec<Covered>,
    pub excluded: Vec<Excluded>,
}

type Scope = BTreeMap<(AgencyId, RecordKind, Classification), Option<AgreementRef>>;

/// Whose records may be counted, asking the policy function for each partner, kind and
/// classification.
fn scope(
    c: &mut DbConn,
    reader: AgencyId,
    partnership: Option<PartnershipId>,
    by: &[Dimension],
    now: DateTime<Utc>,
) -> Result<(Scope, Vec<Excluded>), AppError> {
    let views: Vec<AgreementView> = agreements::views_of(c, reader)?
        .into_iter()
        .filter(|v| partnership.is_none_or(|p| v.agreement.partnership_id == p))
        .collect();
    let mut partners: Vec<AgencyId> = views
        .iter()
        .flat_map(|v| v.agreement.versions.iter())
        .flat_map(|v| v.terms.parties.iter().map(|p| p.agency_id))
        .filter(|a| *a != reader)
        .collect();
    partners.sort();
    partners.dedup();
    let mut covered = Scope::new();
    let mut excluded = Vec::new();
    for kind in RecordKind::ALL {
        for class in Classification::ALL {
            covered.insert((reader, *kind, *class), None);
            let fields = fields_needed(*kind, by);
            for partner in &partners {
                let between: Vec<AgreementView> = views
                    .iter()
                    .filter(|v| v.agreement.involves(*partner))
                    .cloned()
                    .collect();
                let req = DisclosureRequest {
                    discloser: *partner,
                    recipient: reader,
                    record_kind: *kind,
                    purpose: Purpose::StrategicAnalysis,
                    classification: *class,
                    requested_fields: (!fields.is_empty()).then_some(fields.as_slice()),
                    at: now,
                    consent_withdrawn: false,
                    withheld: &[],
                    subjects: &[],
                };
                match policy::decide(&req, &between) {
                    PolicyDecision::Permit(p) => {
                        covered.insert((*partner, *kind, *class), Some(p.agreement));
                    }
                    PolicyDecision::Deny(r) => excluded.push(Excluded {
                        agency_id: *partner,
                        record_kind: *kind,
                        classification: *class,
                        reasons: r.iter().map(ToString::to_string).collect(),
                    }),
                }
            }
        }
    }
    Ok((covered, excluded))
}

/// Builds the threat picture for `p` (an analyst or IG officer of an agency).
pub async fn threat_picture(
    hub: &Hub,
    p: Principal,
    partnership: Option<PartnershipId>,
    query: Query,
) -> Result<Report, AppError> {
    let now = hub.now();
    let reader = p.agency()?;
    let settings = hub.settings().reports.clone();
    let rule = settings.rule();
    let periods = query.period.columns(query.from, query.to).len();
    if query.from > query.to {
        return Err(AppError::validation("/from", "must not be after `to`"));
    }
    if periods > settings.threat_picture_max_periods {
        return Err(AppError::validation(
            "/to",
            format!(
                "a report spans at most {} periods; this one spans {periods}",
                settings.threat_picture_max_periods
            ),
        ));
    }
    if query.by.is_empty() {
        return Err(AppError::validation(
            "/by",
            format!("name at least one of: {}", Dimension::names()),
        ));
    }
    let actor = Actor::from(&p);
    let (report, entry) = hub
        .snapshot(move |c| {
            if let Some(pid) = partnership {
                let member = partnerships::get(c, pid)?.is_some_and(|x| {
                    x.members
                        .iter()
                        .any(|m| m.agency_id == reader && m.status == MemberStatus::Member)
                });
                if !member {
                    return Err(refusal::forbidden(
                        &actor,
                        "threat_picture",
                        pid,
                        now,
                        "the threat picture of a partnership is for its members",
                    ));
                }
            }
            let (scope, excluded) = scope(c, reader, partnership, &query.by, now)?;
            let mut agencies_in: Vec<AgencyId> = scope.keys().map(|k| k.0).collect();
            agencies_in.dedup();
            let counted = |a: AgencyId, k: RecordKind, cl: Classification| {
                scope.contains_key(&(a, k, cl))
            };
            let mut facts: Vec<Fact> = Vec::new();
            for s in incidents::of_reporters(c, &agencies_in)? {
                let x = &s.incident;
                if counted(x.reporting_agency, RecordKind::Incident, x.classification) {
                    facts.extend(incident_facts(x, &query.by));
                }
            }
            for s in referrals::of_referrers(c, &agencies_in)? {
                let x = &s.referral;
                if counted(x.referring_agency, RecordKind::Referral, x.classification) {
                    facts.extend(referral_facts(x, &query.by));
                }
            }
            let mut names = BTreeMap::new();
            for a in &agencies_in {
                let name = agencies::get(c, *a)?.map(|x| x.name).unwrap_or_default();
                names.insert(*a, name);
            }
            let covers: Vec<Covered> = scope
                .into_iter()
                .map(|((agency_id, record_kind, classification), agreement)| Covered {
                    agency_id,
                    agency_name: names.get(&agency_id).cloned().unwrap_or_default(),
                    record_kind,
                    classification,
                    basis: if agency_id == reader { "own" } else { "agreement" },
                    agreement,
                })
                .collect();
            let report = Report {
                picture: picture(&query, &facts, rule),
                partnership_id: partnership,
                generated_at: now,
                covers,
                excluded,
            };
            let by: Vec<&str> = query.by.iter().map(|d| d.as_str()).collect();
            let mut items: Vec<String> = RecordKind::ALL
                .iter()
                .flat_map(|k| fields_needed(*k, &query.by))
                .collect();
            items.sort();
            items.dedup();
            let others: Vec<AgencyId> = agencies_in.into_iter().filter(|a| *a != reader).collect();
            let entry = NewEntry::new(Operation::Consultation, actor, now)
                .record("report", "threat-picture")
                .purpose(Purpose::StrategicAnalysis.as_str())
                .justification(format!(
                    "threat picture by {} per {} from {} to {}, counting the records of {} agencies",
                    by.join(", "),
                    query.period,
                    query.from,
                    query.to,
                    others.len() + 1
                ))
                .data_items(items)
                .concerns(others)
                .decision(Decision::Allowed, Vec::new());
            Ok((report, entry))
        })
        .await?;
    hub.write(move |c| audit::append(c, &entry)).await?;
    Ok(report)
}
