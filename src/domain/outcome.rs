//! What happened after an incident, recorded weeks or months later and by several agencies:
//! an NCA disruption (Home Office menu of tactics, impact grade with its rationale), a charge
//! decision with the CPS, a court outcome, and the fact that the force has recorded the
//! victims, suspects or operation on the Police National Database (the hub never writes to
//! PND). Outcomes are part of the incident record (`outcomes[]...` field paths).
//!
//! Before outcomes existed an incident carried `nca_disruption_outcomes` (free text) and
//! `recorded_on_pnd` (a flag). Those become outcomes marked `migrated: true` (a disruption
//! with the text as its `description`, a `pnd_recorded` dated the day the incident was
//! reported); the old wire fields are now derived from the outcomes.
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::ids::AgencyId;
use super::incident::FourP;
use super::validate::{required_text, Errors};
use crate::error::AppError;

str_enum! {
    /// The kinds of outcome an incident can have.
    pub enum OutcomeKind ("outcome kind") {
        Disruption = "disruption",
        Charge = "charge",
        CourtOutcome = "court_outcome",
        PndRecorded = "pnd_recorded",
    }
}

str_enum! {
    /// The Home Office menu of disruption tactics.
    pub enum Tactic ("disruption tactic") {
        Lifestyle = "lifestyle",
        Behaviour = "behaviour",
        Vehicles = "vehicles",
        Travel = "travel",
        Business = "business",
        Crime = "crime",
    }
}

str_enum! {
    /// The impact grade of a disruption.
    pub enum Impact ("impact grade") {
        Major = "major",
        Moderate = "moderate",
        Minor = "minor",
    }
}

str_enum! {
    /// The CPS charging decision.
    pub enum CpsDecision ("CPS decision") {
        Charge = "charge",
        NfaEvidential = "nfa_evidential",
        NfaPublicInterest = "nfa_public_interest",
        OutOfCourt = "out_of_court",
        Advice = "advice",
    }
}

str_enum! {
    /// Offences charged: Modern Slavery Act 2015 s.1 (slavery, servitude, forced or
    /// compulsory labour), s.2 (human trafficking), s.4 (committing an offence with intent to
    /// commit s.2), or another offence.
    pub enum Offence ("offence") {
        Msa2015S1 = "msa2015_s1",
        Msa2015S2 = "msa2015_s2",
        Msa2015S4 = "msa2015_s4",
        Other = "other",
    }
}

str_enum! {
    /// The result of a prosecution.
    pub enum CourtResult ("court result") {
        Convicted = "convicted",
        Acquitted = "acquitted",
        Discontinued = "discontinued",
        Other = "other",
    }
}

str_enum! {
    /// Orders a court made.
    pub enum CourtOrder ("court order") {
        SlaveryTraffickingPreventionOrder = "slavery_trafficking_prevention_order",
        SlaveryTraffickingRiskOrder = "slavery_trafficking_risk_order",
        Reparation = "reparation",
        Confiscation = "confiscation",
    }
}

/// One outcome of an incident, as stored and as the record shows it. Fields that do not
/// belong to its kind are absent (`null` in the record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub kind: OutcomeKind,
    pub date: NaiveDate,
    pub recorded_by_agency_id: AgencyId,
    pub recorded_at: DateTime<Utc>,
    /// Carried over from the fields an incident had before outcomes existed.
    #[serde(default)]
    pub migrated: bool,
    /// The agency that disrupted (disruption).
    #[serde(default)]
    pub agency_id: Option<AgencyId>,
    #[serde(default)]
    pub tactic: Option<Tactic>,
    #[serde(default)]
    pub impact: Option<Impact>,
    #[serde(default)]
    pub rationale: Option<String>,
    #[serde(default)]
    pub ocg_reference: Option<String>,
    /// Free text of a migrated disruption.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub cps_decision: Option<CpsDecision>,
    #[serde(default)]
    pub offences: Vec<Offence>,
    /// Charge, court or PND reference.
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub result: Option<CourtResult>,
    #[serde(default)]
    pub sentence: Option<String>,
    #[serde(default)]
    pub orders: Vec<CourtOrder>,
}

impl Outcome {
    /// The 4P strand an outcome belongs to: disruption, charges and court outcomes pursue;
    /// recording on PND prepares.
    pub fn four_p(&self) -> FourP {
        match self.kind {
            OutcomeKind::PndRecorded => FourP::Prepare,
            _ => FourP::Pursue,
        }
    }

    /// The text the old `nca_disruption_outcomes` list shows for a disruption.
    pub fn legacy_summary(&self) -> Option<String> {
        if self.kind != OutcomeKind::Disruption {
            return None;
        }
        match (&self.description, self.tactic, self.impact) {
            (Some(d), _, _) => Some(d.clone()),
            (None, Some(t), Some(i)) => Some(format!("{t} ({i})")),
            _ => Some("disruption".to_owned()),
        }
    }
}

/// The body of `POST /incidents/{id}/outcomes`, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    pub kind: Option<String>,
    pub date: Option<NaiveDate>,
    pub agency_id: Option<String>,
    pub tactic: Option<String>,
    pub impact: Option<String>,
    pub rationale: Option<String>,
    pub ocg_reference: Option<String>,
    pub cps_decision: Option<String>,
    #[serde(default)]
    pub offences: Vec<String>,
    pub reference: Option<String>,
    pub result: Option<String>,
    pub sentence: Option<String>,
    #[serde(default)]
    pub orders: Vec<String>,
}

fn required<T>(e: &mut Errors, pointer: &str, v: Option<T>) -> Option<T> {
    if v.is_none() {
        e.add(pointer, "is required");
    }
    v
}

fn text(e: &mut Errors, pointer: &str, v: &Option<String>, max: usize) -> Option<String> {
    v.as_deref()
        .and_then(|t| e.take(pointer, required_text(t, max)))
}

fn parsed<T: std::str::FromStr<Err = String>>(
    e: &mut Errors,
    pointer: &str,
    v: &Option<String>,
) -> Option<T> {
    v.as_deref().and_then(|t| e.take(pointer, t.parse::<T>()))
}

fn list<T: std::str::FromStr<Err = String> + PartialEq>(
    e: &mut Errors,
    pointer: &str,
    raw: &[String],
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        if let Some(v) = e.take(format!("{pointer}/{i}"), r.parse::<T>()) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// Fields given that do not belong to `kind` are refused rather than dropped.
fn only(e: &mut Errors, kind: OutcomeKind, input: &OutcomeInput) {
    use OutcomeKind::*;
    let given: [(&str, bool, &[OutcomeKind]); 11] = [
        ("agency_id", input.agency_id.is_some(), &[Disruption]),
        ("tactic", input.tactic.is_some(), &[Disruption]),
        ("impact", input.impact.is_some(), &[Disruption]),
        ("rationale", input.rationale.is_some(), &[Disruption]),
        (
            "ocg_reference",
            input.ocg_reference.is_some(),
            &[Disruption],
        ),
        ("cps_decision", input.cps_decision.is_some(), &[Charge]),
        ("offences", !input.offences.is_empty(), &[Charge]),
        (
            "reference",
            input.reference.is_some(),
            &[Charge, CourtOutcome, PndRecorded],
        ),
        ("result", input.result.is_some(), &[CourtOutcome]),
        ("sentence", input.sentence.is_some(), &[CourtOutcome]),
        ("orders", !input.orders.is_empty(), &[CourtOutcome]),
    ];
    for (name, present, kinds) in given {
        if present && !kinds.contains(&kind) {
            e.add(
                format!("/{name}"),
                format!("is not a field of a {kind} outcome"),
            );
        }
    }
}

impl OutcomeInput {
    /// Validates the body into an outcome recorded by `recorder` at `now`, with id `id`.
    pub fn parse(
        self,
        id: String,
        recorder: AgencyId,
        now: DateTime<Utc>,
    ) -> Result<Outcome, AppError> {
        let mut e = Errors::new();
        let kind = match &self.kind {
            None => {
                e.add("/kind", format!("is required ({})", OutcomeKind::names()));
                None
            }
            Some(k) => e.take("/kind", k.parse::<OutcomeKind>()),
        };
        let date = required(&mut e, "/date", self.date);
        if date.is_some_and(|d| d > now.date_naive()) {
            e.add("/date", "must not be in the future");
        }
        let agency_id = self.agency_id.as_deref().and_then(|a| {
            e.take(
                "/agency_id",
                a.parse::<AgencyId>().map_err(|_| "must be an agency id"),
            )
        });
        let tactic = parsed::<Tactic>(&mut e, "/tactic", &self.tactic);
        let impact = parsed::<Impact>(&mut e, "/impact", &self.impact);
        let rationale = text(&mut e, "/rationale", &self.rationale, 2000);
        let ocg_reference = text(&mut e, "/ocg_reference", &self.ocg_reference, 100);
        let cps_decision = parsed::<CpsDecision>(&mut e, "/cps_decision", &self.cps_decision);
        let offences = list::<Offence>(&mut e, "/offences", &self.offences);
        let reference = text(&mut e, "/reference", &self.reference, 100);
        let result = parsed::<CourtResult>(&mut e, "/result", &self.result);
        let sentence = text(&mut e, "/sentence", &self.sentence, 500);
        let orders = list::<CourtOrder>(&mut e, "/orders", &self.orders);
        if let Some(kind) = kind {
            only(&mut e, kind, &self);
            match kind {
                OutcomeKind::Disruption => {
                    required(&mut e, "/tactic", self.tactic.as_ref());
                    required(&mut e, "/impact", self.impact.as_ref());
                    required(&mut e, "/rationale", self.rationale.as_ref());
                }
                OutcomeKind::Charge => {
                    required(&mut e, "/cps_decision", self.cps_decision.as_ref());
                    required(&mut e, "/reference", self.reference.as_ref());
                    if cps_decision == Some(CpsDecision::Charge) && self.offences.is_empty() {
                        e.add("/offences", "a charge names at least one offence");
                    }
                }
                OutcomeKind::CourtOutcome => {
                    required(&mut e, "/result", self.result.as_ref());
                    if result != Some(CourtResult::Convicted)
                        && (sentence.is_some() || !orders.is_empty())
                    {
                        e.add("/result", "a sentence or orders follow a conviction");
                    }
                }
                OutcomeKind::PndRecorded => {
                    required(&mut e, "/reference", self.reference.as_ref());
                }
            }
        }
        e.finish()?;
        let (Some(kind), Some(date)) = (kind, date) else {
            return Err(AppError::validation("", "invalid outcome"));
        };
        Ok(Outcome {
            id,
            kind,
            date,
            recorded_by_agency_id: recorder,
            recorded_at: now,
            migrated: false,
            agency_id: match kind {
                OutcomeKind::Disruption => Some(agency_id.unwrap_or(recorder)),
                _ => None,
            },
            tactic,
            impact,
            rationale,
            ocg_reference,
            description: None,
            cps_decision,
            offences,
            reference,
            result,
            sentence,
            orders,
        })
    }
}

/// A stable id for the `n`th outcome migrated from an incident's old fields, so reading the
/// same stored incident twice gives the same ids.
fn migrated_id(incident_id: &str, n: usize) -> String {
    let digest = Sha256::digest(format!("{incident_id}/migrated-outcome/{n}").as_bytes());
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// The outcomes an incident's old fields stand for: one migrated disruption per free-text
/// entry and, when `recorded_on_pnd` was set, one migrated `pnd_recorded`.
pub fn migrated(
    incident_id: &str,
    reporter: AgencyId,
    reported_at: DateTime<Utc>,
    disruptions: &[String],
    recorded_on_pnd: bool,
) -> Vec<Outcome> {
    let blank = |n: usize, kind: OutcomeKind| Outcome {
        id: migrated_id(incident_id, n),
        kind,
        date: reported_at.date_naive(),
        recorded_by_agency_id: reporter,
        recorded_at: reported_at,
        migrated: true,
        agency_id: None,
        tactic: None,
        impact: None,
        rationale: None,
        ocg_reference: None,
        description: None,
        cps_decision: None,
        offences: Vec::new(),
        reference: None,
        result: None,
        sentence: None,
        orders: Vec::new(),
    };
    let mut out: Vec<Outcome> = disruptions
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .enumerate()
        .map(|(n, t)| Outcome {
            agency_id: Some(reporter),
            description: Some(t.chars().take(2000).collect()),
            ..blank(n, OutcomeKind::Disruption)
        })
        .collect();
    if recorded_on_pnd {
        out.push(blank(out.len(), OutcomeKind::PndRecorded));
    }
    out
}

/// A fresh, time-ordered id for a new outcome.
pub fn fresh_id() -> String {
    Uuid::now_v7().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        "2026-06-01T09:00:00Z".parse().unwrap()
    }

    fn input(v: serde_json::Value) -> OutcomeInput {
        serde_json::from_value(v).unwrap()
    }

    fn pointers(r: Result<Outcome, AppError>) -> Vec<String> {
        match r {
            Err(AppError::Validation(v)) => v.into_iter().map(|f| f.pointer).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn a_disruption_needs_tactic_impact_and_rationale() {
        let now = at();
        let who = AgencyId::new();
        let p = pointers(
            input(json!({"kind": "disruption", "date": "2026-01-05"})).parse("x".into(), who, now),
        );
        assert_eq!(p, vec!["/tactic", "/impact", "/rationale"]);
        let ok = input(
            json!({"kind": "disruption", "date": "2026-01-05", "tactic": "vehicles",
            "impact": "major", "rationale": "three vans seized", "ocg_reference": "OCG-7"}),
        )
        .parse("x".into(), who, now)
        .unwrap();
        assert_eq!(ok.agency_id, Some(who));
        assert_eq!(ok.tactic, Some(Tactic::Vehicles));
        assert_eq!(ok.four_p(), FourP::Pursue);
    }

    #[test]
    fn fields_of_another_kind_and_future_dates_are_refused() {
        let now = at();
        let p = pointers(
            input(
                json!({"kind": "pnd_recorded", "date": "2999-01-01", "reference": "P1",
                "tactic": "crime", "offences": ["msa2015_s2"]}),
            )
            .parse("x".into(), AgencyId::new(), now),
        );
        assert_eq!(p, vec!["/date", "/tactic", "/offences"]);
        let p = pointers(
            input(
                json!({"kind": "charge", "date": "2026-01-05", "cps_decision": "charge",
                "reference": "CPS-1"}),
            )
            .parse("x".into(), AgencyId::new(), now),
        );
        assert_eq!(p, vec!["/offences"]);
        let p = pointers(
            input(
                json!({"kind": "court_outcome", "date": "2026-01-05", "result": "acquitted",
                "orders": ["reparation"]}),
            )
            .parse("x".into(), AgencyId::new(), now),
        );
        assert_eq!(p, vec!["/result"]);
    }

    #[test]
    fn old_fields_migrate_to_stable_outcomes() {
        let at = at();
        let who = AgencyId::new();
        let a = migrated("i1", who, at, &["van seized".into(), " ".into()], true);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].kind, OutcomeKind::Disruption);
        assert_eq!(a[0].legacy_summary().as_deref(), Some("van seized"));
        assert!(a.iter().all(|o| o.migrated));
        assert_eq!(a[1].kind, OutcomeKind::PndRecorded);
        assert_eq!(a, migrated("i1", who, at, &["van seized".into()], true));
        assert_ne!(
            a[0].id,
            migrated("i2", who, at, &["van seized".into()], true)[0].id
        );
        assert!(a[0].id.parse::<Uuid>().is_ok());
    }
}
