//! Tests of the referral record, its validation and the pathway rules.
use super::*;
use crate::domain::fields::{self, RecordKind};
use crate::domain::projection::{paths_present, project};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn input(v: Value) -> ReferralInput {
    let mut body = json!({
        "area": "E08000025",
        "potential_victim": {"name": "Ana P", "age": 30, "contact": "07700 900123",
                             "gender": "female", "nationality": "RO", "language": "ro",
                             "interpreter_needed": true},
        "nrm_consent": "given",
        "exploitation_types": ["labour"],
        "indicators": ["passport held by employer"],
        "immediate_needs": ["accommodation", "interpreter"],
        "narrative": "Ana P was found working at a car wash",
        "classification": "official_sensitive"
    });
    for (k, x) in v.as_object().unwrap() {
        body[k] = x.clone();
    }
    serde_json::from_value(body).unwrap()
}

fn parse(v: Value) -> Result<Referral, AppError> {
    input(v).parse("r-1".into(), AgencyId::new(), now(), &Default::default())
}

fn pointers(r: Result<Referral, AppError>) -> Vec<String> {
    match r {
        Err(AppError::Validation(v)) => v.into_iter().map(|f| f.pointer).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_pathway_follows_age_and_consent() {
    assert_eq!(pathway(true, NrmConsent::NotRequired), Ok(Pathway::Nrm));
    assert_eq!(pathway(true, NrmConsent::Declined), Ok(Pathway::Nrm));
    assert_eq!(pathway(false, NrmConsent::Given), Ok(Pathway::Nrm));
    assert_eq!(
        pathway(false, NrmConsent::Declined),
        Ok(Pathway::DutyToNotify)
    );
    assert!(pathway(false, NrmConsent::NotRequired).is_err());
    let r = parse(json!({"nrm_consent": "declined"})).unwrap();
    assert_eq!(r.pathway, Pathway::DutyToNotify);
    let r = parse(
        json!({"potential_victim": {"name": "K", "age_disputed": true},
                          "nrm_consent": "not_required"}),
    )
    .unwrap();
    assert!(r.child);
    assert_eq!(r.pathway, Pathway::Nrm);
    assert_eq!(
        pointers(parse(json!({"nrm_consent": "not_required"}))),
        vec!["/nrm_consent"]
    );
}

#[test]
fn validation_points_at_every_bad_field() {
    let p = pointers(parse(json!({
        "area": "Birmingham",
        "potential_victim": {"age": 130, "date_of_birth": "2030-01-01"},
        "exploitation_types": ["arson"],
        "immediate_needs": ["pony"],
        "narrative": " ",
        "classification": "secret"
    })));
    for want in [
        "/area",
        "/potential_victim/age",
        "/potential_victim/date_of_birth",
        "/exploitation_types/0",
        "/immediate_needs/0",
        "/narrative",
        "/classification",
    ] {
        assert!(p.contains(&want.to_owned()), "{want} missing from {p:?}");
    }
    assert_eq!(
        pointers(parse(json!({"potential_victim": {"age": 30}}))),
        vec!["/potential_victim/name"],
        "an NRM referral needs a name or alias"
    );
    assert!(parse(json!({"potential_victim": {"age": 30}, "nrm_consent": "declined"})).is_ok());
    assert_eq!(
        pointers(parse(json!({"potential_victim": {"name": "A", "age": 30,
                                                    "date_of_birth": "2000-01-01"}}))),
        vec!["/potential_victim/age"]
    );
    assert_eq!(
        pointers(parse(json!({"potential_victim": {"name": "A"}}))),
        vec!["/potential_victim/age"]
    );
}

#[test]
fn duty_to_notify_never_discloses_identifying_fields() {
    let r = parse(json!({"nrm_consent": "declined",
                         "potential_victim": {"name": "Ana P", "date_of_birth": "1996-02-03",
                                              "contact": "07700 900123"}}))
    .unwrap();
    let all: Vec<String> = fields::fields(RecordKind::Referral)
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    let allowed = r.disclosable(&all);
    for f in DTN_WITHHELD.iter() {
        assert!(!allowed.contains(&(*f).to_owned()), "{f}");
        assert!(fields::is_known(RecordKind::Referral, f), "{f}");
    }
    let out = project(&r.disclosure_record(Status::Submitted), &all);
    let text = out.to_string();
    for secret in ["Ana P", "1996-02-03", "07700", "car wash", "passport"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(out["potential_victim"]["age_band"], "25-34");
    assert!(!paths_present(&out).contains(&"potential_victim.name".to_owned()));
    for p in paths_present(&out) {
        assert!(DTN_RETURN.contains(&p.as_str()), "{p} is not in the return");
    }
    // On the NRM pathway the agreement decides.
    let nrm = parse(json!({})).unwrap();
    assert_eq!(nrm.disclosable(&all), all);
    assert!(project(&nrm.disclosure_record(Status::Submitted), &all)
        .to_string()
        .contains("Ana P"));
    assert!(nrm
        .disclosure_record(Status::Submitted)
        .get("reference")
        .is_none());
}
