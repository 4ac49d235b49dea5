//! Learning that is used (pure): a partnership's learning record of one investigation or
//! operation (the incidents it concerned, exploitation types, interconnected threats, and
//! what worked and what did not under named themes), with recommendations that each have an
//! owner agency, a due date and a status, closed only with evidence. A recommendation not
//! closed by the end of its due date is overdue.
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{AgencyId, IncidentId, LearningRecordId, PartnershipId, RecommendationId};
use super::msht::{ExploitationType, Threat};
use super::validate::{required_text, Errors};
use crate::error::AppError;

/// The longest title.
pub const TITLE_CHARS: usize = 200;
/// The longest lesson, recommendation or evidence text.
pub const TEXT_CHARS: usize = 4000;

str_enum! {
    /// What a learning record is about.
    pub enum Subject ("learning subject") {
        Investigation = "investigation",
        Operation = "operation",
    }
}

str_enum! {
    /// The themes lessons are recorded under.
    pub enum Theme ("learning theme") {
        VictimEngagement = "victim_engagement",
        Interpreting = "interpreting",
        Evidence = "evidence",
        CovertTactics = "covert_tactics",
        FinancialInvestigation = "financial_investigation",
        Safeguarding = "safeguarding",
        CpsEarlyAdvice = "cps_early_advice",
        Partnership = "partnership",
        IntelligenceSharing = "intelligence_sharing",
    }
}

str_enum! {
    /// Where a recommendation stands.
    pub enum RecommendationStatus ("recommendation status") {
        Open = "open",
        InProgress = "in_progress",
        /// Done, with the evidence recorded.
        Closed = "closed",
    }
}

/// What worked and what did not under one theme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lesson {
    pub theme: Theme,
    pub worked: Option<String>,
    pub did_not_work: Option<String>,
}

/// A learning record as kept (its recommendations are kept beside it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningRecord {
    pub id: LearningRecordId,
    pub partnership_id: PartnershipId,
    pub subject: Subject,
    pub title: String,
    pub reference: Option<String>,
    pub incident_ids: Vec<IncidentId>,
    pub exploitation_types: Vec<ExploitationType>,
    pub threats: Vec<Threat>,
    pub lessons: Vec<Lesson>,
    pub recorded_by_agency_id: AgencyId,
    pub recorded_at: DateTime<Utc>,
}

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub id: RecommendationId,
    pub learning_record_id: LearningRecordId,
    pub partnership_id: PartnershipId,
    pub text: String,
    pub owner_agency_id: AgencyId,
    pub due_on: NaiveDate,
    pub status: RecommendationStatus,
    pub evidence: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by_agency_id: Option<AgencyId>,
    pub updated_at: DateTime<Utc>,
}

impl Recommendation {
    /// Not closed and past its due date on `today`.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status != RecommendationStatus::Closed && today > self.due_on
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonInput {
    pub theme: Option<String>,
    pub worked: Option<String>,
    pub did_not_work: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendationInput {
    pub text: Option<String>,
    pub owner_agency_id: Option<String>,
    pub due_on: Option<String>,
}

/// `POST /partnerships/{id}/learning-records` as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningInput {
    pub subject: Option<String>,
    pub title: Option<String>,
    pub reference: Option<String>,
    #[serde(default)]
    pub incident_ids: Vec<String>,
    #[serde(default)]
    pub exploitation_types: Vec<String>,
    #[serde(default)]
    pub threats: Vec<String>,
    #[serde(default)]
    pub lessons: Vec<LessonInput>,
    #[serde(default)]
    pub recommendations: Vec<RecommendationInput>,
}

/// A valid new recommendation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecommendation {
    pub text: String,
    pub owner_agency_id: AgencyId,
    pub due_on: NaiveDate,
}

/// A valid new learning record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLearning {
    pub subject: Subject,
    pub title: String,
    pub reference: Option<String>,
    pub incident_ids: Vec<IncidentId>,
    pub exploitation_types: Vec<ExploitationType>,
    pub threats: Vec<Threat>,
    pub lessons: Vec<Lesson>,
    pub recommendations: Vec<NewRecommendation>,
}

fn bounded<T>(e: &mut Errors, pointer: &str, items: &[T], max: usize) {
    if items.len() > max {
        e.add(pointer, format!("at most {max} items"));
    }
}

/// Non-empty text of at most `max` characters, without NUL (which no database text holds).
fn plain(t: &str, max: usize) -> Result<String, String> {
    if t.contains('\0') {
        return Err("must not contain NUL characters".to_owned());
    }
    required_text(t, max)
}

fn text(e: &mut Errors, pointer: &str, v: &Option<String>, max: usize) -> Option<String> {
    v.as_deref().and_then(|t| e.take(pointer, plain(t, max)))
}

fn each<T: std::str::FromStr<Err = String>>(
    e: &mut Errors,
    pointer: &str,
    raw: &[String],
) -> Vec<T> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        if let Some(v) = e.take(format!("{pointer}/{i}"), s.parse::<T>()) {
            out.push(v);
        }
    }
    out
}

impl LearningInput {
    /// Parses the record; lists hold at most `max_items`, and due dates are not before
    /// `today`.
    pub fn parse(&self, max_items: usize, today: NaiveDate) -> Result<NewLearning, AppError> {
        let mut e = Errors::new();
        let subject = match &self.subject {
            None => {
                e.add(
                    "/subject",
                    format!("is required: one of {}", Subject::names()),
                );
                None
            }
            Some(s) => e.take("/subject", s.parse::<Subject>()),
        };
        let title = match &self.title {
            None => {
                e.add("/title", "is required");
                None
            }
            Some(t) => e.take("/title", plain(t, TITLE_CHARS)),
        };
        let reference = text(&mut e, "/reference", &self.reference, 100);
        bounded(&mut e, "/incident_ids", &self.incident_ids, max_items);
        bounded(
            &mut e,
            "/exploitation_types",
            &self.exploitation_types,
            max_items,
        );
        bounded(&mut e, "/threats", &self.threats, max_items);
        bounded(&mut e, "/lessons", &self.lessons, max_items);
        bounded(&mut e, "/recommendations", &self.recommendations, max_items);
        let mut incident_ids = Vec::new();
        for (i, s) in self.incident_ids.iter().enumerate() {
            if let Some(id) = e.take(
                format!("/incident_ids/{i}"),
                s.parse::<IncidentId>()
                    .map_err(|_| "must be an incident id (a UUID)"),
            ) {
                if !incident_ids.contains(&id) {
                    incident_ids.push(id);
                }
            }
        }
        let exploitation_types = each(&mut e, "/exploitation_types", &self.exploitation_types);
        let threats = each(&mut e, "/threats", &self.threats);
        let mut lessons = Vec::new();
        for (i, l) in self.lessons.iter().enumerate() {
            let p = format!("/lessons/{i}");
            let theme = match &l.theme {
                None => {
                    e.add(
                        format!("{p}/theme"),
                        format!("is required: one of {}", Theme::names()),
                    );
                    None
                }
                Some(t) => e.take(format!("{p}/theme"), t.parse::<Theme>()),
            };
            let worked = text(&mut e, &format!("{p}/worked"), &l.worked, TEXT_CHARS);
            let did_not_work = text(
                &mut e,
                &format!("{p}/did_not_work"),
                &l.did_not_work,
                TEXT_CHARS,
            );
            if l.worked.is_none() && l.did_not_work.is_none() {
                e.add(p.clone(), "say what worked, what did not, or both");
            }
            if let Some(theme) = theme {
                lessons.push(Lesson {
                    theme,
                    worked,
                    did_not_work,
                });
            }
        }
        let mut recommendations = Vec::new();
        for (i, r) in self.recommendations.iter().enumerate() {
            if let Some(r) = r.parse_into(&mut e, &format!("/recommendations/{i}"), today) {
                recommendations.push(r);
            }
        }
        e.finish()?;
        match (subject, title) {
            (Some(subject), Some(title)) => Ok(NewLearning {
                subject,
                title,
                reference,
                incident_ids,
                exploitation_types,
                threats,
                lessons,
                recommendations,
            }),
            _ => Err(AppError::validation("", "invalid learning record")),
        }
    }
}

impl RecommendationInput {
    /// Parses one recommendation whose fields sit under `p`, noting errors in `e`; due dates
    /// are not before `today`.
    fn parse_into(&self, e: &mut Errors, p: &str, today: NaiveDate) -> Option<NewRecommendation> {
        let t = match &self.text {
            None => {
                e.add(format!("{p}/text"), "is required");
                None
            }
            Some(t) => e.take(format!("{p}/text"), plain(t, TEXT_CHARS)),
        };
        let owner = match &self.owner_agency_id {
            None => {
                e.add(format!("{p}/owner_agency_id"), "is required");
                None
            }
            Some(a) => e.take(
                format!("{p}/owner_agency_id"),
                a.parse::<AgencyId>()
                    .map_err(|_| "must be an agency id (a UUID)"),
            ),
        };
        let due = match &self.due_on {
            None => {
                e.add(format!("{p}/due_on"), "is required (YYYY-MM-DD)");
                None
            }
            Some(d) => e.take(
                format!("{p}/due_on"),
                d.parse::<NaiveDate>()
                    .map_err(|_| "must be a date (YYYY-MM-DD)".to_owned())
                    .and_then(|d| {
                        if d < today {
                            Err(format!("must not be before today ({today})"))
                        } else {
                            Ok(d)
                        }
                    }),
            ),
        };
        let (text, owner_agency_id, due_on) = (t?, owner?, due?);
        Some(NewRecommendation {
            text,
            owner_agency_id,
            due_on,
        })
    }

    /// `POST /learning-records/{id}/recommendations`: one recommendation added later.
    pub fn parse(&self, today: NaiveDate) -> Result<NewRecommendation, AppError> {
        let mut e = Errors::new();
        let r = self.parse_into(&mut e, "", today);
        e.finish()?;
        r.ok_or_else(|| AppError::validation("", "invalid recommendation"))
    }
}

/// `POST /learning-recommendations/{id}/status` as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    pub status: Option<String>,
    pub evidence: Option<String>,
}

/// A valid status change: closing carries its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: RecommendationStatus,
    pub evidence: Option<String>,
}

impl StatusInput {
    pub fn parse(&self) -> Result<StatusChange, AppError> {
        let mut e = Errors::new();
        let status = match &self.status {
            None => {
                e.add(
                    "/status",
                    format!("is required: one of {}", RecommendationStatus::names()),
                );
                None
            }
            Some(s) => e.take("/status", s.parse::<RecommendationStatus>()),
        };
        let evidence = text(&mut e, "/evidence", &self.evidence, TEXT_CHARS);
        match status {
            Some(RecommendationStatus::Closed) if self.evidence.is_none() => e.add(
                "/evidence",
                "is required to close a recommendation: say what was done and where it shows",
            ),
            Some(RecommendationStatus::Open | RecommendationStatus::InProgress)
                if self.evidence.is_some() =>
            {
                e.add("/evidence", "only when closing")
            }
            _ => {}
        }
        e.finish()?;
        match status {
            Some(status) => Ok(StatusChange { status, evidence }),
            None => Err(AppError::validation("/status", "is required")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pointers(r: Result<impl std::fmt::Debug, AppError>) -> Vec<String> {
        match r {
            Err(AppError::Validation(errs)) => {
                let mut p: Vec<String> = errs.into_iter().map(|e| e.pointer).collect();
                p.sort();
                p
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn today() -> NaiveDate {
        "2026-06-01".parse().unwrap()
    }

    #[test]
    fn a_recommendation_closes_only_with_evidence() {
        let closing: StatusInput = serde_json::from_value(json!({"status": "closed"})).unwrap();
        assert_eq!(pointers(closing.parse()), vec!["/evidence"]);
        let ok: StatusInput =
            serde_json::from_value(json!({"status": "closed", "evidence": "Protocol v2 agreed"}))
                .unwrap();
        assert_eq!(
            ok.parse().unwrap().evidence.as_deref(),
            Some("Protocol v2 agreed")
        );
        let blank: StatusInput =
            serde_json::from_value(json!({"status": "closed", "evidence": "  "})).unwrap();
        assert_eq!(pointers(blank.parse()), vec!["/evidence"]);
    }

    #[test]
    fn bad_records_name_every_field() {
        let bad: LearningInput = serde_json::from_value(json!({
            "subject": "inquest",
            "incident_ids": ["nope"],
            "threats": ["weather"],
            "lessons": [{"theme": "luck", "worked": "x"}, {"theme": "evidence"}],
            "recommendations": [{"text": "Do it", "owner_agency_id": "x", "due_on": "2026-05-01"}]
        }))
        .unwrap();
        assert_eq!(
            pointers(bad.parse(50, today())),
            vec![
                "/incident_ids/0",
                "/lessons/0/theme",
                "/lessons/1",
                "/recommendations/0/due_on",
                "/recommendations/0/owner_agency_id",
                "/subject",
                "/threats/0",
                "/title",
            ]
        );
    }

    #[test]
    fn nul_characters_are_refused() {
        let bad: StatusInput =
            serde_json::from_value(json!({"status": "closed", "evidence": "done\u{0}"})).unwrap();
        assert_eq!(pointers(bad.parse()), vec!["/evidence"]);
    }

    #[test]
    fn overdue_means_open_past_the_due_date() {
        let mut r = Recommendation {
            id: RecommendationId::new(),
            learning_record_id: LearningRecordId::new(),
            partnership_id: PartnershipId::new(),
            text: "x".into(),
            owner_agency_id: AgencyId::new(),
            due_on: today(),
            status: RecommendationStatus::InProgress,
            evidence: None,
            closed_at: None,
            closed_by_agency_id: None,
            updated_at: "2026-06-01T09:00:00Z".parse().unwrap(),
        };
        assert!(!r.overdue(today()));
        assert!(r.overdue(today().succ_opt().unwrap()));
        r.status = RecommendationStatus::Closed;
        assert!(!r.overdue(today().succ_opt().unwrap()));
    }
}
