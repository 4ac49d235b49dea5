//! The record field catalogue: which field paths exist in each kind of record, as the API
//! returns the record. Agreements name these paths in their data items; the policy function
//! permits them; `domain::projection::project` copies exactly them out of a record.
//!
//! A path names one leaf: `area`, `grading.source` (a field of an object),
//! `victims[].age_band` (a field of every item of a list). Paths are leaves only: `grading`
//! or `victims` alone are not data items, so an agreement always says exactly what moves.
//! The record's own id and timestamps are not data items; callers add them to a projection.
//!
//! Some fields are never disclosed to anyone ([`never_disclosed`]): a victim's safe address.
//! They are part of the record (its reporting agency sees them), but no agreement may name
//! them and the projection never copies them.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

str_enum! {
    /// A kind of record that moves between agencies.
    pub enum RecordKind ("record kind") {
        Incident = "incident",
        Referral = "referral",
    }
}

/// Every data item of an incident as `GET /incidents/{id}` returns it.
pub const INCIDENT_FIELDS: &[&str] = &[
    "reference",
    "occurred_at",
    "reported_at",
    "area",
    "postcode_district",
    "exploitation_types",
    "threats",
    "four_p",
    "classification",
    "handling_code",
    "handling_conditions",
    "grading.source",
    "grading.intelligence",
    "grading.handling",
    "operation_name",
    "recorded_on_pnd",
    "nca_disruption_outcomes",
    "estimated_criminal_proceeds_gbp",
    "narrative",
    "victims[].reference",
    "victims[].age",
    "victims[].date_of_birth",
    "victims[].age_band",
    "victims[].age_disputed",
    "victims[].is_child",
    "victims[].gender",
    "victims[].nationality",
    "victims[].needs",
    "victims[].consent_to_share",
    "victims[].consent_absent_reason",
    "victims[].nrm_status",
    "victims[].ictg_referral",
    "victims[].adult_at_risk",
    "victims[].schedule_8_condition",
    "suspects[].role",
    "suspects[].nationality",
    "suspects[].foreign_national",
    "outcomes[].id",
    "outcomes[].kind",
    "outcomes[].date",
    "outcomes[].recorded_by_agency_id",
    "outcomes[].recorded_at",
    "outcomes[].migrated",
    "outcomes[].four_p",
    "outcomes[].agency_id",
    "outcomes[].tactic",
    "outcomes[].impact",
    "outcomes[].rationale",
    "outcomes[].ocg_reference",
    "outcomes[].description",
    "outcomes[].cps_decision",
    "outcomes[].offences",
    "outcomes[].reference",
    "outcomes[].result",
    "outcomes[].sentence",
    "outcomes[].orders",
];

/// Incident fields that exist in the record but are never disclosed to anyone.
pub const INCIDENT_NEVER_DISCLOSED: &[&str] = &["victims[].safe_address"];

/// Every data item of a referral as `GET /referrals/{id}` returns it.
pub const REFERRAL_FIELDS: &[&str] = &[
    "area",
    "potential_victim.name",
    "potential_victim.age",
    "potential_victim.date_of_birth",
    "potential_victim.age_band",
    "potential_victim.age_disputed",
    "potential_victim.is_child",
    "potential_victim.gender",
    "potential_victim.nationality",
    "potential_victim.language",
    "potential_victim.interpreter_needed",
    "potential_victim.contact",
    "nrm_consent",
    "pathway",
    "exploitation_types",
    "indicators",
    "immediate_needs",
    "narrative",
    "classification",
    "status",
];

/// Referral fields that exist but are never disclosed (none today).
pub const REFERRAL_NEVER_DISCLOSED: &[&str] = &[];

/// The disclosable field paths of `kind`, in catalogue order.
pub fn fields(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Incident => INCIDENT_FIELDS,
        RecordKind::Referral => REFERRAL_FIELDS,
    }
}

/// The field paths of `kind` that are never disclosed.
pub fn never_disclosed(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Incident => INCIDENT_NEVER_DISCLOSED,
        RecordKind::Referral => REFERRAL_NEVER_DISCLOSED,
    }
}

/// Whether `path` is a disclosable data item of `kind`.
pub fn is_known(kind: RecordKind, path: &str) -> bool {
    index(kind, path).is_some()
}

/// FNV-1a: the catalogue index is a fixed table looked up on every decision, so a fast
/// hash matters and flooding does not (nobody can add keys to it).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Index = HashMap<&'static str, usize, BuildHasherDefault<Fnv>>;

/// The position of `path` in the catalogue of `kind` (at most 64 fields per kind, so a set
/// of fields fits in a `u64` bit mask).
pub fn index(kind: RecordKind, path: &str) -> Option<usize> {
    static INDEX: LazyLock<[Index; 2]> = LazyLock::new(|| {
        let of = |k: RecordKind| fields(k).iter().enumerate().map(|(i, f)| (*f, i)).collect();
        [of(RecordKind::Incident), of(RecordKind::Referral)]
    });
    let [incident, referral] = &*INDEX;
    match kind {
        RecordKind::Incident => incident.get(path).copied(),
        RecordKind::Referral => referral.get(path).copied(),
    }
}

/// Whether `path` exists in `kind` but may never be disclosed.
pub fn is_never_disclosed(kind: RecordKind, path: &str) -> bool {
    never_disclosed(kind).contains(&path)
}

/// Checks that an agreement may name `path` for `kind`; the error says why not.
pub fn check(kind: RecordKind, path: &str) -> Result<(), String> {
    if is_known(kind, path) {
        Ok(())
    } else if is_never_disclosed(kind, path) {
        Err(format!(
            "`{path}` is never disclosed to anyone; no agreement may name it"
        ))
    } else {
        let shown: String = path.chars().take(80).collect();
        Err(format!("`{shown}` is not a field of {kind} records"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_knows_its_fields() {
        assert!(is_known(RecordKind::Incident, "victims[].age_band"));
        assert!(is_known(RecordKind::Incident, "grading.handling"));
        assert!(!is_known(RecordKind::Incident, "victims[].safe_address"));
        assert!(!is_known(RecordKind::Incident, "victims"));
        assert!(!is_known(RecordKind::Referral, "victims[].age"));
        assert!(is_known(RecordKind::Referral, "potential_victim.contact"));
        assert!(check(RecordKind::Incident, "victims[].safe_address")
            .unwrap_err()
            .contains("never disclosed"));
        assert!(check(RecordKind::Incident, "victims[].name")
            .unwrap_err()
            .contains("not a field of incident records"));
        for kind in RecordKind::ALL {
            assert!(fields(*kind).len() <= 64, "field sets are u64 bit masks");
            for (i, f) in fields(*kind).iter().enumerate() {
                assert_eq!(index(*kind, f), Some(i));
            }
            let mut seen = std::collections::HashSet::new();
            for f in fields(*kind) {
                assert!(seen.insert(f), "duplicate {f}");
                assert!(!is_never_disclosed(*kind, f));
            }
        }
    }
}
