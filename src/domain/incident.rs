//! The MSHT incident record (POLE-inspired): the event (when, where, which exploitation and
//! threats, 4P strands, classification and handling, intelligence grading, operation, PND and
//! NCA outcomes, estimated proceeds in GBP as a decimal), its victims (with derived child
//! status and age band, consent to share, NRM status, and a safe address that is never
//! disclosed) and suspects. Parsing collects every error with a JSON pointer.
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::agency::GssCode;
use super::ids::AgencyId;
use super::msht::{ExploitationType, Threat};
use super::outcome::{self, Outcome};
use super::policy::{Basis, Schedule8Condition, Subject};
use super::sharing::Classification;

str_enum! {
    /// The 4P strands of the response.
    pub enum FourP ("4P strand") {
        Pursue = "pursue",
        Prevent = "prevent",
        Protect = "protect",
        Prepare = "prepare",
    }
}

str_enum! {
    /// Whether a victim agreed to their details being shared.
    pub enum ConsentToShare ("consent state") {
        Given = "given",
        Declined = "declined",
        NotRequired = "not_required",
    }
}

str_enum! {
    /// Why consent is absent (DPA 2018 Schedule 8 paragraph 4).
    pub enum ConsentAbsentReason ("consent absent reason") {
        CannotBeGiven = "cannot_be_given",
        CannotReasonablyBeObtained = "cannot_reasonably_be_obtained",
        WouldPrejudiceProtection = "would_prejudice_protection",
    }
}

str_enum! {
    /// Where a victim stands in the National Referral Mechanism.
    pub enum NrmStatus ("NRM status") {
        NotReferred = "not_referred",
        RgPending = "rg_pending",
        RgPositive = "rg_positive",
        RgNegative = "rg_negative",
        CgPositive = "cg_positive",
        CgNegative = "cg_negative",
        Withdrawn = "withdrawn",
    }
}

/// The age bands the hub discloses instead of ages.
pub fn age_band(age: Option<u32>) -> &'static str {
    match age {
        None => "unknown",
        Some(0..=12) => "0-12",
        Some(13..=15) => "13-15",
        Some(16..=17) => "16-17",
        Some(18..=24) => "18-24",
        Some(25..=34) => "25-34",
        Some(35..=49) => "35-49",
        Some(50..=64) => "50-64",
        Some(_) => "65+",
    }
}

/// Whole years between `dob` and `on`.
pub fn age_on(dob: NaiveDate, on: NaiveDate) -> Option<u32> {
    let mut years = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grading {
    pub source: String,
    pub intelligence: String,
    pub handling: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Victim {
    pub reference: String,
    pub age: Option<u32>,
    pub date_of_birth: Option<NaiveDate>,
    pub age_disputed: bool,
    pub gender: Option<String>,
    pub nationality: Option<String>,
    pub needs: Vec<String>,
    pub consent_to_share: ConsentToShare,
    pub consent_absent_reason: Option<ConsentAbsentReason>,
    pub nrm_status: Option<NrmStatus>,
    pub ictg_referral: Option<bool>,
    pub adult_at_risk: bool,
    /// The DPA 2018 Schedule 8 condition recorded as the reason to share the person's details
    /// without their consent, if any.
    #[serde(default)]
    pub schedule_8_condition: Option<Schedule8Condition>,
    pub safe_address: Option<String>,
}

impl Victim {
    /// The age now: from the date of birth where known, else as recorded.
    pub fn age_at(&self, now: DateTime<Utc>) -> Option<u32> {
        self.date_of_birth
            .and_then(|d| age_on(d, now.date_naive()))
            .or(self.age)
    }

    /// A child: under 18, or age disputed (treated as a child until assessed).
    pub fn is_child(&self, now: DateTime<Utc>) -> bool {
        self.age_disputed || self.age_at(now).is_some_and(|a| a < 18)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suspect {
    pub role: String,
    pub nationality: Option<String>,
    pub foreign_national: bool,
}

/// A recorded incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub reporting_agency: AgencyId,
    pub reference: String,
    pub occurred_at: DateTime<Utc>,
    pub reported_at: DateTime<Utc>,
    pub area: GssCode,
    pub postcode_district: Option<String>,
    pub exploitation_types: Vec<ExploitationType>,
    pub threats: Vec<Threat>,
    pub four_p: Vec<FourP>,
    pub classification: Classification,
    pub handling_code: String,
    pub handling_conditions: Option<String>,
    pub grading: Option<Grading>,
    pub operation_name: Option<String>,
    /// Stored before outcomes existed; read only, and turned into outcomes by
    /// [`Incident::upgrade`].
    #[serde(default, rename = "recorded_on_pnd", skip_serializing)]
    legacy_recorded_on_pnd: bool,
    #[serde(default, rename = "nca_disruption_outcomes", skip_serializing)]
    legacy_disruptions: Vec<String>,
    /// What happened after the incident, in the order recorded.
    #[serde(default)]
    pub outcomes: Vec<Outcome>,
    pub estimated_criminal_proceeds_gbp: Option<Decimal>,
    pub narrative: String,
    pub victims: Vec<Victim>,
    pub suspects: Vec<Suspect>,
}

impl Incident {
    /// Turns the fields a stored incident had before outcomes existed into migrated
    /// outcomes (placed first, as the oldest), once.
    pub fn upgrade(&mut self) {
        if !self.legacy_recorded_on_pnd && self.legacy_disruptions.is_empty() {
            return;
        }
        let mut old = outcome::migrated(
            &self.id,
            self.reporting_agency,
            self.reported_at,
            &self.legacy_disruptions,
            self.legacy_recorded_on_pnd,
        );
        old.retain(|o| !self.outcomes.iter().any(|x| x.id == o.id));
        old.append(&mut self.outcomes);
        self.outcomes = old;
        self.legacy_recorded_on_pnd = false;
        self.legacy_disruptions.clear();
    }

    /// A changed incident keeps the outcomes of `before` (outcomes are recorded only through
    /// their own endpoint); old-style fields sent with the change add what is not there yet.
    pub fn keep_outcomes(mut self, before: &Incident) -> Incident {
        let mut kept = before.outcomes.clone();
        for o in std::mem::take(&mut self.outcomes) {
            let already = kept.iter().any(|k| {
                k.kind == o.kind
                    && (o.kind == outcome::OutcomeKind::PndRecorded
                        || k.description == o.description)
            });
            if !already {
                kept.push(Outcome {
                    id: outcome::fresh_id(),
                    ..o
                });
            }
        }
        self.outcomes = kept;
        self
    }

    /// Whether the force has recorded this incident's people or operation on PND (the old
    /// `recorded_on_pnd`, now derived from the outcomes).
    pub fn recorded_on_pnd(&self) -> bool {
        self.outcomes
            .iter()
            .any(|o| o.kind == outcome::OutcomeKind::PndRecorded)
    }

    pub fn any_child(&self, now: DateTime<Utc>) -> bool {
        self.victims.iter().any(|v| v.is_child(now))
    }

    pub fn any_adult(&self, now: DateTime<Utc>) -> bool {
        self.victims.iter().any(|v| !v.is_child(now))
    }

    pub fn any_adult_at_risk(&self, now: DateTime<Utc>) -> bool {
        self.victims
            .iter()
            .any(|v| !v.is_child(now) && v.adult_at_risk)
    }

    /// The victims as the policy function sees them, in order, for the basis of disclosing
    /// each.
    pub fn subjects(&self, now: DateTime<Utc>) -> Vec<Subject> {
        self.victims
            .iter()
            .map(|v| Subject {
                child: v.is_child(now),
                consent: v.consent_to_share,
                adult_at_risk: v.adult_at_risk,
                schedule_8: v.schedule_8_condition,
            })
            .collect()
    }

    /// Each victim's consent state (with the reason where consent is absent) and, where a
    /// permit gave them (`bases`, victim order), the basis each was disclosed on: the consent
    /// part of a disclosure's audit entry.
    pub fn consent_summary(&self, bases: &[Basis]) -> String {
        let parts: Vec<String> = self
            .victims
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let state = match (v.consent_to_share, v.consent_absent_reason) {
                    (ConsentToShare::Given, _) => "given".to_owned(),
                    (c, Some(r)) => format!("{c} ({r})"),
                    (c, None) => c.to_string(),
                };
                match bases.get(i) {
                    Some(b) => format!("{}: {state}; {}", v.reference, b.describe()),
                    None => format!("{}: {state}", v.reference),
                }
            })
            .collect();
        parts.join("; ")
    }

    /// Opaque references to the people the record is about (for the audit log).
    pub fn subject_refs(&self) -> Vec<String> {
        self.victims
            .iter()
            .map(|v| format!("incident:{}:victim:{}", self.id, v.reference))
            .collect()
    }

    /// The incident in the shape `POST /incidents` accepts (no derived fields), the base
    /// that a `PATCH` merges into.
    pub fn to_input(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("id");
            o.remove("reporting_agency");
            o.remove("outcomes");
            if let Some(Value::Number(_)) = o.get("estimated_criminal_proceeds_gbp") {
                let text = self.estimated_criminal_proceeds_gbp.map(|d| d.to_string());
                o.insert("estimated_criminal_proceeds_gbp".into(), json!(text));
            }
        }
        v
    }

    /// The record as the API returns it to its reporting agency, with derived fields; the
    /// projection for recipients starts from this (and drops `safe_address` whatever happens).
    pub fn to_record(&self, now: DateTime<Utc>) -> Value {
        json!({
            "id": self.id,
            "reporting_agency_id": self.reporting_agency.to_string(),
            "reference": self.reference,
            "occurred_at": self.occurred_at,
            "reported_at": self.reported_at,
            "area": self.area,
            "postcode_district": self.postcode_district,
            "exploitation_types": self.exploitation_types,
            "threats": self.threats,
            "four_p": self.four_p,
            "classification": self.classification,
            "handling_code": self.handling_code,
            "handling_conditions": self.handling_conditions,
            "grading": self.grading.as_ref().map(|g| json!({
                "source": g.source, "intelligence": g.intelligence, "handling": g.handling})),
            "operation_name": self.operation_name,
            "recorded_on_pnd": self.recorded_on_pnd(),
            "nca_disruption_outcomes": self.outcomes.iter().filter_map(Outcome::legacy_summary).collect::<Vec<_>>(),
            "estimated_criminal_proceeds_gbp": self.estimated_criminal_proceeds_gbp.map(|d| d.to_string()),
            "narrative": self.narrative,
            "victims": self.victims.iter().map(|v| json!({
                "reference": v.reference,
                "age": v.age_at(now),
                "date_of_birth": v.date_of_birth,
                "age_band": age_band(v.age_at(now)),
                "age_disputed": v.age_disputed,
                "is_child": v.is_child(now),
                "gender": v.gender,
                "nationality": v.nationality,
                "needs": v.needs,
                "consent_to_share": v.consent_to_share,
                "consent_absent_reason": v.consent_absent_reason,
                "nrm_status": v.nrm_status,
                "ictg_referral": v.ictg_referral,
                "adult_at_risk": v.adult_at_risk,
                "schedule_8_condition": v.schedule_8_condition,
                "safe_address": v.safe_address,
            })).collect::<Vec<_>>(),
            "suspects": self.suspects.iter().map(|s| json!({
                "role": s.role, "nationality": s.nationality, "foreign_national": s.foreign_national,
            })).collect::<Vec<_>>(),
            "outcomes": self.outcomes.iter().map(outcome_record).collect::<Vec<_>>(),
        })
    }
}

/// One outcome as the record shows it (every field, `null` where not of its kind).
pub fn outcome_record(o: &Outcome) -> Value {
    json!({
        "id": o.id,
        "kind": o.kind,
        "date": o.date,
        "recorded_by_agency_id": o.recorded_by_agency_id.to_string(),
        "recorded_at": o.recorded_at,
        "migrated": o.migrated,
        "four_p": o.four_p(),
        "agency_id": o.agency_id.map(|a| a.to_string()),
        "tactic": o.tactic,
        "impact": o.impact,
        "rationale": o.rationale,
        "ocg_reference": o.ocg_reference,
        "description": o.description,
        "cps_decision": o.cps_decision,
        "offences": o.offences,
        "reference": o.reference,
        "result": o.result,
        "sentence": o.sentence,
        "orders": o.orders,
    })
}

mod input;
pub use input::{GradingInput, IncidentInput, SuspectInput, VictimInput};
