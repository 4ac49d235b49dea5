//! Parsing the body of `POST /incidents` (and a merged `PATCH`) into an [`Incident`],
//! collecting every error with its JSON pointer.
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use super::{
    ConsentAbsentReason, ConsentToShare, FourP, Grading, Incident, NrmStatus, Suspect, Victim,
};
use crate::domain::agency::GssCode;
use crate::domain::ids::AgencyId;
use crate::domain::limits::Limits;
use crate::domain::msht::{ExploitationType, Threat};
use crate::domain::policy::Schedule8Condition;
use crate::domain::sharing::Classification;
use crate::domain::validate::{required_text, Errors};
use crate::error::AppError;

/// The body of `POST /incidents` (and the full body of a `PATCH`), before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentInput {
    pub reference: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub reported_at: Option<DateTime<Utc>>,
    pub area: Option<String>,
    pub postcode_district: Option<String>,
    #[serde(default)]
    pub exploitation_types: Vec<String>,
    #[serde(default)]
    pub threats: Vec<String>,
    #[serde(default)]
    pub four_p: Vec<String>,
    pub classification: Option<String>,
    pub handling_code: Option<String>,
    pub handling_conditions: Option<String>,
    pub grading: Option<GradingInput>,
    pub operation_name: Option<String>,
    #[serde(default)]
    pub recorded_on_pnd: bool,
    #[serde(default)]
    pub nca_disruption_outcomes: Vec<String>,
    pub estimated_criminal_proceeds_gbp: Option<Value>,
    pub narrative: Option<String>,
    #[serde(default)]
    pub victims: Vec<VictimInput>,
    #[serde(default)]
    pub suspects: Vec<SuspectInput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradingInput {
    pub source: Option<String>,
    pub intelligence: Option<String>,
    pub handling: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VictimInput {
    pub reference: Option<String>,
    pub age: Option<u32>,
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default)]
    pub age_disputed: bool,
    pub gender: Option<String>,
    pub nationality: Option<String>,
    #[serde(default)]
    pub needs: Vec<String>,
    pub consent_to_share: Option<String>,
    pub consent_absent_reason: Option<String>,
    pub nrm_status: Option<String>,
    pub ictg_referral: Option<bool>,
    #[serde(default)]
    pub adult_at_risk: bool,
    pub schedule_8_condition: Option<String>,
    pub safe_address: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuspectInput {
    pub role: Option<String>,
    pub nationality: Option<String>,
    #[serde(default)]
    pub foreign_national: bool,
}

fn optional_text(e: &mut Errors, pointer: &str, v: &Option<String>, max: usize) -> Option<String> {
    v.as_deref()
        .and_then(|t| e.take(pointer, required_text(t, max)))
}

fn list<T: std::str::FromStr<Err = String>>(
    e: &mut Errors,
    pointer: &str,
    raw: &[String],
) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        if let Some(v) = e.take(format!("{pointer}/{i}"), r.parse::<T>()) {
            out.push(v);
        }
    }
    out
}

fn postcode_district(s: &str) -> Result<String, String> {
    let t = s.trim().to_ascii_uppercase();
    let b = t.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let rest = b.get(letters..).unwrap_or_default();
    let ok = (1..=2).contains(&letters)
        && (1..=2).contains(&rest.len())
        && rest.first().is_some_and(u8::is_ascii_digit)
        && rest.iter().all(u8::is_ascii_alphanumeric);
    if ok {
        Ok(t)
    } else {
        Err("must be a postcode district (the outward code, for example B6 or WV10)".into())
    }
}

fn proceeds(v: &Value) -> Result<Decimal, String> {
    let Value::String(s) = v else {
        return Err("send the amount as a decimal string, for example \"12500.00\"".into());
    };
    let d: Decimal = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a decimal amount"))?;
    if d.is_sign_negative() {
        return Err("must not be negative".into());
    }
    if d.scale() > 2 {
        return Err("at most two decimal places (pounds and pence)".into());
    }
    Ok(d)
}

impl IncidentInput {
    /// Every list longer than `limits` allows, each named by its pointer (checked before
    /// anything else is parsed, so an oversized body costs little).
    fn check_lengths(&self, limits: &Limits) -> Result<(), AppError> {
        let mut e = Errors::new();
        limits.list(&mut e, "/exploitation_types", self.exploitation_types.len());
        limits.list(&mut e, "/threats", self.threats.len());
        limits.list(&mut e, "/four_p", self.four_p.len());
        limits.list(
            &mut e,
            "/nca_disruption_outcomes",
            self.nca_disruption_outcomes.len(),
        );
        limits.people(&mut e, "/victims", self.victims.len());
        limits.people(&mut e, "/suspects", self.suspects.len());
        for (i, v) in self.victims.iter().enumerate() {
            limits.list(&mut e, &format!("/victims/{i}/needs"), v.needs.len());
        }
        e.finish()
    }

    /// Validates the body into an incident of `reporting_agency` with id `id`, within `limits`.
    pub fn parse(
        self,
        id: String,
        reporting_agency: AgencyId,
        now: DateTime<Utc>,
        limits: &Limits,
    ) -> Result<Incident, AppError> {
        self.check_lengths(limits)?;
        let mut e = Errors::new();
        let reference = match &self.reference {
            None => {
                e.add("/reference", "is required");
                None
            }
            Some(r) => e.take("/reference", required_text(r, 100)),
        };
        let occurred_at = match self.occurred_at {
            None => {
                e.add("/occurred_at", "is required");
                None
            }
            Some(t) if t > now + chrono::Duration::minutes(5) => {
                e.add("/occurred_at", "must not be in the future");
                None
            }
            Some(t) => Some(t),
        };
        let reported_at = self.reported_at.unwrap_or(now);
        if let Some(o) = occurred_at {
            if reported_at < o {
                e.add("/reported_at", "must not be before occurred_at");
            }
        }
        let area = match &self.area {
            None => {
                e.add("/area", "is required");
                None
            }
            Some(a) => e.take("/area", GssCode::parse(a)),
        };
        let postcode = self
            .postcode_district
            .as_deref()
            .and_then(|p| e.take("/postcode_district", postcode_district(p)));
        if self.exploitation_types.is_empty() {
            e.add(
                "/exploitation_types",
                "at least one (use `unknown` if not known)",
            );
        }
        let exploitation_types =
            list::<ExploitationType>(&mut e, "/exploitation_types", &self.exploitation_types);
        let threats = list::<Threat>(&mut e, "/threats", &self.threats);
        let four_p = list::<FourP>(&mut e, "/four_p", &self.four_p);
        let classification = match &self.classification {
            None => {
                e.add("/classification", "is required");
                None
            }
            Some(c) => e.take("/classification", c.parse::<Classification>()),
        };
        let handling_code = self.handling_code.clone().unwrap_or_else(|| "P".to_owned());
        if handling_code != "P" && handling_code != "C" {
            e.add(
                "/handling_code",
                "must be P (may be shared) or C (shared with conditions)",
            );
        }
        let handling_conditions = optional_text(
            &mut e,
            "/handling_conditions",
            &self.handling_conditions,
            2000,
        );
        if handling_code == "C" && handling_conditions.is_none() {
            e.add(
                "/handling_conditions",
                "handling code C needs its conditions written",
            );
        }
        let grading = self.grading.as_ref().and_then(|g| {
            let ok_source = matches!(g.source.as_deref(), Some("1" | "2" | "3"));
            let ok_intel = matches!(g.intelligence.as_deref(), Some("A" | "B" | "C" | "D" | "E"));
            let ok_handling = matches!(g.handling.as_deref(), Some("P" | "C"));
            if !ok_source {
                e.add("/grading/source", "must be 1, 2 or 3");
            }
            if !ok_intel {
                e.add("/grading/intelligence", "must be A, B, C, D or E");
            }
            if !ok_handling {
                e.add("/grading/handling", "must be P or C");
            }
            (ok_source && ok_intel && ok_handling).then(|| Grading {
                source: g.source.clone().unwrap_or_default(),
                intelligence: g.intelligence.clone().unwrap_or_default(),
                handling: g.handling.clone().unwrap_or_default(),
            })
        });
        let operation_name = optional_text(&mut e, "/operation_name", &self.operation_name, 100);
        let proceeds_gbp = self
            .estimated_criminal_proceeds_gbp
            .as_ref()
            .filter(|v| !v.is_null())
            .and_then(|v| e.take("/estimated_criminal_proceeds_gbp", proceeds(v)));
        let narrative = match &self.narrative {
            None => {
                e.add("/narrative", "is required");
                None
            }
            Some(n) => e.take("/narrative", required_text(n, 20_000)),
        };
        if self.victims.is_empty() {
            e.add("/victims", "at least one victim is required");
        }
        let mut victims = Vec::with_capacity(self.victims.len());
        for (i, v) in self.victims.iter().enumerate() {
            let p = format!("/victims/{i}");
            let reference = match &v.reference {
                None => {
                    e.add(format!("{p}/reference"), "is required");
                    None
                }
                Some(r) => e.take(format!("{p}/reference"), required_text(r, 100)),
            };
            if v.age.is_some_and(|a| a > 120) {
                e.add(format!("{p}/age"), "must be 0 to 120");
            }
            if let Some(d) = v.date_of_birth {
                if d > now.date_naive() {
                    e.add(format!("{p}/date_of_birth"), "must not be in the future");
                }
            }
            let consent = match &v.consent_to_share {
                None => {
                    e.add(format!("{p}/consent_to_share"), "is required");
                    None
                }
                Some(c) => e.take(format!("{p}/consent_to_share"), c.parse::<ConsentToShare>()),
            };
            let absent = v.consent_absent_reason.as_deref().and_then(|r| {
                e.take(
                    format!("{p}/consent_absent_reason"),
                    r.parse::<ConsentAbsentReason>(),
                )
            });
            if consent == Some(ConsentToShare::Given) && absent.is_some() {
                e.add(
                    format!("{p}/consent_absent_reason"),
                    "only when consent is not given",
                );
            }
            let schedule_8 = v.schedule_8_condition.as_deref().and_then(|c| {
                e.take(
                    format!("{p}/schedule_8_condition"),
                    c.parse::<Schedule8Condition>(),
                )
            });
            if consent == Some(ConsentToShare::Given) && schedule_8.is_some() {
                e.add(
                    format!("{p}/schedule_8_condition"),
                    "only when consent is not given",
                );
            }
            let nrm = v
                .nrm_status
                .as_deref()
                .and_then(|s| e.take(format!("{p}/nrm_status"), s.parse::<NrmStatus>()));
            let needs: Vec<String> = v
                .needs
                .iter()
                .enumerate()
                .filter_map(|(j, n)| e.take(format!("{p}/needs/{j}"), required_text(n, 200)))
                .collect();
            if let (Some(reference), Some(consent)) = (reference, consent) {
                victims.push(Victim {
                    reference,
                    age: v.age,
                    date_of_birth: v.date_of_birth,
                    age_disputed: v.age_disputed,
                    gender: optional_text(&mut e, &format!("{p}/gender"), &v.gender, 50),
                    nationality: optional_text(
                        &mut e,
                        &format!("{p}/nationality"),
                        &v.nationality,
                        60,
                    ),
                    needs,
                    consent_to_share: consent,
                    consent_absent_reason: absent,
                    nrm_status: nrm,
                    ictg_referral: v.ictg_referral,
                    adult_at_risk: v.adult_at_risk,
                    schedule_8_condition: schedule_8,
                    safe_address: optional_text(
                        &mut e,
                        &format!("{p}/safe_address"),
                        &v.safe_address,
                        500,
                    ),
                });
            }
        }
        let mut suspects = Vec::with_capacity(self.suspects.len());
        for (i, s) in self.suspects.iter().enumerate() {
            let p = format!("/suspects/{i}");
            let role = match &s.role {
                None => {
                    e.add(format!("{p}/role"), "is required");
                    None
                }
                Some(r) => e.take(format!("{p}/role"), required_text(r, 60)),
            };
            if let Some(role) = role {
                suspects.push(Suspect {
                    role,
                    nationality: optional_text(
                        &mut e,
                        &format!("{p}/nationality"),
                        &s.nationality,
                        60,
                    ),
                    foreign_national: s.foreign_national,
                });
            }
        }
        e.finish()?;
        match (reference, occurred_at, area, classification, narrative) {
            (
                Some(reference),
                Some(occurred_at),
                Some(area),
                Some(classification),
                Some(narrative),
            ) => Ok(Incident {
                id: id.clone(),
                reporting_agency,
                reference,
                occurred_at,
                reported_at,
                area,
                postcode_district: postcode,
                exploitation_types,
                threats,
                four_p,
                classification,
                handling_code,
                handling_conditions,
                grading,
                operation_name,
                legacy_recorded_on_pnd: false,
                legacy_disruptions: Vec::new(),
                outcomes: crate::domain::outcome::migrated(
                    &id,
                    reporting_agency,
                    reported_at,
                    &self.nca_disruption_outcomes,
                    self.recorded_on_pnd,
                ),
                estimated_criminal_proceeds_gbp: proceeds_gbp,
                narrative,
                victims,
                suspects,
            }),
            _ => Err(AppError::validation("", "invalid incident")),
        }
    }
}
