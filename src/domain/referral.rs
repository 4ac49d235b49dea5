//! An NGO's referral of a potential victim of modern slavery (pure): the record, its
//! validation, the pathway rules and what may leave the hub on each pathway.
//!
//! Pathway rules (DOMAIN.md, NRM and Duty to Notify):
//! - a child (under 18 at referral, or age disputed and so treated as a child) needs no
//!   consent and goes to the NRM pathway, whatever `nrm_consent` records;
//! - an adult who gives informed consent goes to the NRM pathway;
//! - an adult who declines goes to the Duty to Notify pathway: what is passed on is
//!   anonymised, and a support route is still offered;
//! - `not_required` for an adult is invalid.
//!
//! On the Duty to Notify pathway only what the anonymous Duty to Notify return carries
//! ([`DTN_RETURN`]) ever leaves the hub, whatever an agreement allows: every other field
//! ([`DTN_WITHHELD`]: name, date of birth, exact age, contact, language, the free-text
//! indicators and narrative, needs) is withheld by the policy function.
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::agency::GssCode;
use super::fields::REFERRAL_FIELDS;
use super::ids::AgencyId;
use super::incident::{age_band, age_on};
use super::limits::Limits;
use super::msht::ExploitationType;
use super::referral_lifecycle::Status;
use super::sharing::Classification;
use super::validate::{required_text, Errors};
use crate::error::AppError;

str_enum! {
    /// The adult's informed consent to an NRM referral.
    pub enum NrmConsent ("NRM consent") {
        Given = "given",
        Declined = "declined",
        /// Children are referred without consent.
        NotRequired = "not_required",
    }
}

str_enum! {
    /// The pathway the rules put a referral on.
    pub enum Pathway ("pathway") {
        Nrm = "nrm",
        DutyToNotify = "duty_to_notify",
    }
}

str_enum! {
    /// Needs the person has now.
    pub enum ImmediateNeed ("immediate need") {
        Accommodation = "accommodation",
        Medical = "medical",
        MentalHealth = "mental_health",
        Interpreter = "interpreter",
        LegalAdvice = "legal_advice",
        Financial = "financial",
        FoodAndClothing = "food_and_clothing",
        Safety = "safety",
        Travel = "travel",
        Other = "other",
    }
}

/// What the Home Office's anonymous Duty to Notify return carries, and so all a referral on
/// that pathway ever discloses: where, which exploitation, the person's gender, nationality
/// and age band (never an exact age), that it is an adult who declined, and the referral's
/// state and classification. No free text (indicators and narrative can name the person or a
/// place) and no other quasi-identifier (language, interpreter, needs, disputed age).
pub const DTN_RETURN: &[&str] = &[
    "area",
    "potential_victim.age_band",
    "potential_victim.is_child",
    "potential_victim.gender",
    "potential_victim.nationality",
    "nrm_consent",
    "pathway",
    "exploitation_types",
    "classification",
    "status",
];

/// Fields withheld on the Duty to Notify pathway, whatever an agreement allows: every
/// referral field that is not in [`DTN_RETURN`] (so a field added later is withheld until
/// the return is shown to carry it).
pub static DTN_WITHHELD: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    REFERRAL_FIELDS
        .iter()
        .copied()
        .filter(|f| !DTN_RETURN.contains(f))
        .collect()
});

/// The pathway for a child or adult with `consent`; the error explains a bad combination.
pub fn pathway(child: bool, consent: NrmConsent) -> Result<Pathway, &'static str> {
    match (child, consent) {
        (true, _) | (false, NrmConsent::Given) => Ok(Pathway::Nrm),
        (false, NrmConsent::Declined) => Ok(Pathway::DutyToNotify),
        (false, NrmConsent::NotRequired) => Err(
            "an adult must give or decline informed consent to an NRM referral; `not_required` \
             is only for children",
        ),
    }
}

/// How the person is supported on their pathway (support never depends on the NRM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SupportRoute {
    pub kind: &'static str,
    pub description: &'static str,
}

/// The person the referral is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PotentialVictim {
    /// Name or alias.
    pub name: Option<String>,
    pub age: Option<u32>,
    pub date_of_birth: Option<NaiveDate>,
    pub age_disputed: bool,
    pub gender: Option<String>,
    pub nationality: Option<String>,
    pub language: Option<String>,
    pub interpreter_needed: bool,
    pub contact: Option<String>,
}

impl PotentialVictim {
    /// The age on `on`: from the date of birth where known, else as stated.
    pub fn age_on(&self, on: DateTime<Utc>) -> Option<u32> {
        self.date_of_birth
            .and_then(|d| age_on(d, on.date_naive()))
            .or(self.age)
    }

    /// A child: under 18, or age disputed (treated as a child until assessed).
    pub fn is_child_on(&self, on: DateTime<Utc>) -> bool {
        self.age_disputed || self.age_on(on).is_some_and(|a| a < 18)
    }
}

/// A referral as made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub id: String,
    pub referring_agency: AgencyId,
    /// The referrer's own case reference (never disclosed).
    pub reference: Option<String>,
    pub area: GssCode,
    pub potential_victim: PotentialVictim,
    pub nrm_consent: NrmConsent,
    pub pathway: Pathway,
    /// A child when referred (fixes the pathway and the routing).
    pub child: bool,
    pub exploitation_types: Vec<ExploitationType>,
    pub indicators: Vec<String>,
    pub immediate_needs: Vec<ImmediateNeed>,
    pub narrative: String,
    pub classification: Classification,
    pub created_at: DateTime<Utc>,
}

fn remove_path(v: &mut Value, path: &str) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut cur = v;
    for p in parts {
        match cur.get_mut(p) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(o) = cur.as_object_mut() {
        o.remove(last);
    }
}

impl Referral {
    /// The record as `GET /referrals/{id}` returns it to the referrer, with `status`. Ages
    /// are as at referral.
    pub fn to_record(&self, status: Status) -> Value {
        let v = &self.potential_victim;
        let age = v.age_on(self.created_at);
        json!({
            "id": self.id,
            "referring_agency_id": self.referring_agency.to_string(),
            "reference": self.reference,
            "area": self.area,
            "potential_victim": {
                "name": v.name,
                "age": age,
                "date_of_birth": v.date_of_birth,
                "age_band": age_band(age),
                "age_disputed": v.age_disputed,
                "is_child": self.child,
                "gender": v.gender,
                "nationality": v.nationality,
                "language": v.language,
                "interpreter_needed": v.interpreter_needed,
                "contact": v.contact,
            },
            "nrm_consent": self.nrm_consent,
            "pathway": self.pathway,
            "exploitation_types": self.exploitation_types,
            "indicators": self.indicators,
            "immediate_needs": self.immediate_needs,
            "narrative": self.narrative,
            "classification": self.classification,
            "status": status,
            "created_at": self.created_at,
        })
    }

    /// The record that disclosures are projected from: on the Duty to Notify pathway the
    /// identifying fields are not in it at all.
    pub fn disclosure_record(&self, status: Status) -> Value {
        let mut v = self.to_record(status);
        if let Some(o) = v.as_object_mut() {
            o.remove("reference");
        }
        if self.pathway == Pathway::DutyToNotify {
            for p in DTN_WITHHELD.iter() {
                remove_path(&mut v, p);
            }
        }
        v
    }

    /// The fields this referral's pathway never discloses, whatever an agreement allows (an
    /// input of the policy function).
    pub fn withheld(&self) -> &'static [&'static str] {
        match self.pathway {
            Pathway::Nrm => &[],
            _ => DTN_WITHHELD.as_slice(),
        }
    }

    /// `fields` (from a permit) less what this referral's pathway never discloses.
    pub fn disclosable(&self, fields: &[String]) -> Vec<String> {
        fields
            .iter()
            .filter(|f| self.pathway == Pathway::Nrm || !DTN_WITHHELD.contains(&f.as_str()))
            .cloned()
            .collect()
    }

    /// Opaque references to the person (for the audit log).
    pub fn subject_refs(&self) -> Vec<String> {
        vec![format!("referral:{}:potential_victim", self.id)]
    }

    /// The consent state for the audit log.
    pub fn consent_state(&self, withdrawn: bool) -> String {
        if withdrawn {
            return "withdrawn: no further disclosure of the person's details".to_owned();
        }
        match (self.child, self.nrm_consent) {
            (true, c) => format!(
                "not_required: a child is referred without consent (recorded as {c}); \
                 safeguarding (Schedule 8 para 4 / Schedule 1 para 18)"
            ),
            (false, NrmConsent::Given) => "given: informed consent to an NRM referral".to_owned(),
            (false, c) => format!(
                "{c}: the adult declined the NRM; Duty to Notify passes on anonymised data only"
            ),
        }
    }

    /// The support route on this referral's pathway.
    pub fn support_route(&self) -> SupportRoute {
        match (self.child, self.pathway) {
            (true, _) => SupportRoute {
                kind: "children_services",
                description: "The child is safeguarded by local authority children's services \
                              through the MASH and the children's safeguarding partnership, \
                              with an independent child trafficking guardian; support does \
                              not wait for an NRM decision.",
            },
            (false, Pathway::Nrm) => SupportRoute {
                kind: "nrm_support",
                description: "Support under the Modern Slavery Victim Care Contract from a \
                              positive reasonable grounds decision; the referring NGO and the \
                              MASH support the person meanwhile.",
            },
            (false, Pathway::DutyToNotify) => SupportRoute {
                kind: "local_support",
                description: "The adult declined the NRM: the police make an anonymous Duty \
                              to Notify and the MASH is told without identifying details, so \
                              that support outside the NRM can be offered through the \
                              referring NGO. The person can still consent to an NRM referral \
                              later.",
            },
        }
    }
}

/// The body of `POST /referrals`, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    pub reference: Option<String>,
    pub area: Option<String>,
    pub potential_victim: Option<PotentialVictimInput>,
    pub nrm_consent: Option<String>,
    #[serde(default)]
    pub exploitation_types: Vec<String>,
    #[serde(default)]
    pub indicators: Vec<String>,
    #[serde(default)]
    pub immediate_needs: Vec<String>,
    pub narrative: Option<String>,
    pub classification: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PotentialVictimInput {
    pub name: Option<String>,
    pub age: Option<u32>,
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default)]
    pub age_disputed: bool,
    pub gender: Option<String>,
    pub nationality: Option<String>,
    pub language: Option<String>,
    #[serde(default)]
    pub interpreter_needed: bool,
    pub contact: Option<String>,
}

fn optional_text(e: &mut Errors, pointer: &str, v: &Option<String>, max: usize) -> Option<String> {
    v.as_deref()
        .and_then(|t| e.take(pointer, required_text(t, max)))
}

fn required<T>(e: &mut Errors, pointer: &str, v: Option<T>) -> Option<T> {
    if v.is_none() {
        e.add(pointer, "is required");
    }
    v
}

impl PotentialVictimInput {
    fn parse(&self, e: &mut Errors, now: DateTime<Utc>) -> PotentialVictim {
        const P: &str = "/potential_victim";
        if self.age.is_some_and(|a| a > 120) {
            e.add(format!("{P}/age"), "must be 0 to 120");
        }
        if let Some(d) = self.date_of_birth {
            if d > now.date_naive() {
                e.add(format!("{P}/date_of_birth"), "must not be in the future");
            } else if let (Some(stated), Some(derived)) = (self.age, age_on(d, now.date_naive())) {
                if stated != derived {
                    e.add(
                        format!("{P}/age"),
                        format!("does not match the date of birth (which gives {derived})"),
                    );
                }
            }
        }
        if self.age.is_none() && self.date_of_birth.is_none() && !self.age_disputed {
            e.add(
                format!("{P}/age"),
                "give age or date_of_birth, or set age_disputed when the age is not known",
            );
        }
        PotentialVictim {
            name: optional_text(e, &format!("{P}/name"), &self.name, 200),
            age: self.age,
            date_of_birth: self.date_of_birth,
            age_disputed: self.age_disputed,
            gender: optional_text(e, &format!("{P}/gender"), &self.gender, 50),
            nationality: optional_text(e, &format!("{P}/nationality"), &self.nationality, 60),
            language: optional_text(e, &format!("{P}/language"), &self.language, 60),
            interpreter_needed: self.interpreter_needed,
            contact: optional_text(e, &format!("{P}/contact"), &self.contact, 500),
        }
    }
}

impl ReferralInput {
    /// Validates the body into a referral by `referrer` with id `id`, made at `now`, within
    /// `limits` (every over-long list is refused before anything else is parsed).
    pub fn parse(
        self,
        id: String,
        referrer: AgencyId,
        now: DateTime<Utc>,
        limits: &Limits,
    ) -> Result<Referral, AppError> {
        let mut e = Errors::new();
        limits.list(&mut e, "/exploitation_types", self.exploitation_types.len());
        limits.list(&mut e, "/indicators", self.indicators.len());
        limits.list(&mut e, "/immediate_needs", self.immediate_needs.len());
        e.finish()?;
        let mut e = Errors::new();
        let reference = optional_text(&mut e, "/reference", &self.reference, 100);
        let area = required(&mut e, "/area", self.area.as_deref())
            .and_then(|a| e.take("/area", GssCode::parse(a)));
        let victim = required(&mut e, "/potential_victim", self.potential_victim.as_ref())
            .map(|v| v.parse(&mut e, now));
        let consent = required(&mut e, "/nrm_consent", self.nrm_consent.as_deref())
            .and_then(|c| e.take("/nrm_consent", c.parse::<NrmConsent>()));
        let child = victim.as_ref().map(|v| v.is_child_on(now));
        let path = match (child, consent) {
            (Some(child), Some(c)) => e.take("/nrm_consent", pathway(child, c)),
            _ => None,
        };
        if path == Some(Pathway::Nrm) && victim.as_ref().is_some_and(|v| v.name.is_none()) {
            e.add(
                "/potential_victim/name",
                "an NRM referral needs a name or alias; only a Duty to Notify may leave it out",
            );
        }
        if self.exploitation_types.is_empty() {
            e.add(
                "/exploitation_types",
                "at least one (use `unknown` if not known)",
            );
        }
        let mut exploitation_types = Vec::with_capacity(self.exploitation_types.len());
        for (i, t) in self.exploitation_types.iter().enumerate() {
            if let Some(t) = e.take(format!("/exploitation_types/{i}"), t.parse()) {
                if !exploitation_types.contains(&t) {
                    exploitation_types.push(t);
                }
            }
        }
        let indicators: Vec<String> = self
            .indicators
            .iter()
            .enumerate()
            .filter_map(|(i, t)| e.take(format!("/indicators/{i}"), required_text(t, 200)))
            .collect();
        let mut immediate_needs: Vec<ImmediateNeed> = Vec::new();
        for (i, n) in self.immediate_needs.iter().enumerate() {
            if let Some(n) = e.take(format!("/immediate_needs/{i}"), n.parse()) {
                if !immediate_needs.contains(&n) {
                    immediate_needs.push(n);
                }
            }
        }
        let narrative = required(&mut e, "/narrative", self.narrative.as_deref())
            .and_then(|n| e.take("/narrative", required_text(n, 20_000)));
        let classification = required(&mut e, "/classification", self.classification.as_deref())
            .and_then(|c| e.take("/classification", c.parse::<Classification>()));
        e.finish()?;
        match (
            area,
            victim,
            consent,
            path,
            child,
            narrative,
            classification,
        ) {
            (
                Some(area),
                Some(potential_victim),
                Some(nrm_consent),
                Some(pathway),
                Some(child),
                Some(narrative),
                Some(classification),
            ) => Ok(Referral {
                id,
                referring_agency: referrer,
                reference,
                area,
                potential_victim,
                nrm_consent,
                pathway,
                child,
                exploitation_types,
                indicators,
                immediate_needs,
                narrative,
                classification,
                created_at: now,
            }),
            _ => Err(AppError::validation("", "invalid referral")),
        }
    }
}

#[cfg(test)]
mod tests;
