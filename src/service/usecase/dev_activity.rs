//! Demo activity `serve --dev` records once the hub runs, through the same use cases as the
//! API: the demo police force's incident of criminal exploitation with a child victim
//! referred to the ICTG service, the demo NGO's referral of a child (so the ICTG monitoring
//! list and the threat picture have something to show), and the police's learning record of
//! the operation with two recommendations. Seeding again changes nothing.
use chrono::Duration;
use serde_json::{json, Value};

use crate::domain::audit::Actor;
use crate::domain::ids::AgencyId;
use crate::domain::incident::IncidentInput;
use crate::domain::learning::LearningInput;
use crate::domain::referral::ReferralInput;
use crate::domain::role::{Role, RoleSet};
use crate::error::AppError;
use crate::identity::dev::{DevIssuer, DevStateAgency};
use crate::identity::Principal;
use crate::service::store::{learning, partnerships};
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::Keyed;
use crate::usecase::referrals::Created;

fn practitioner(base_url: &str, a: &DevStateAgency) -> Result<(Actor, AgencyId), AppError> {
    let id: AgencyId = a.id.parse().map_err(AppError::internal)?;
    let p = Principal {
        issuer: DevIssuer::issuer_url(base_url, &a.slug),
        subject: "dev-seed".to_owned(),
        agency_id: Some(id),
        roles: [Role::Practitioner].into_iter().collect::<RoleSet>(),
        client_id: None,
    };
    Ok((Actor::from(&p), id))
}

fn id_of(v: &Value) -> Result<String, AppError> {
    v.get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| AppError::internal("seeded record has no id"))
}

fn created(c: &Created) -> Value {
    json!({"id": c.stored.referral.id})
}

/// Records the demo activity unless the demo partnership has a learning record already.
pub async fn seed(hub: &Hub, agencies: &[DevStateAgency], base_url: &str) -> Result<(), AppError> {
    let find = |slug: &str| {
        agencies
            .iter()
            .find(|a| a.slug == slug)
            .ok_or_else(|| AppError::internal(format!("demo agency `{slug}` missing")))
    };
    let (police, police_id) = practitioner(base_url, find("police")?)?;
    let (ngo, ngo_id) = practitioner(base_url, find("ngo")?)?;
    let children_id: AgencyId = find("children")?.id.parse().map_err(AppError::internal)?;
    let demo = super::dev_sharing::DEMO_PARTNERSHIP;
    let found = hub
        .read(move |c| {
            let all = partnerships::list(c, None, Some(police_id), 100)?;
            let Some(p) = all.into_iter().find(|p| p.name == demo) else {
                return Ok(None);
            };
            Ok((learning::records_of(c, p.id, None, 1)?.is_empty()).then_some(p.id))
        })
        .await?;
    let Some(pid) = found else { return Ok(()) };
    let now = hub.now();
    let incident: IncidentInput = serde_json::from_value(json!({
        "reference": "DEMO-OP-KESTREL-01",
        "occurred_at": (now - Duration::days(3)).to_rfc3339(),
        "area": "E08000025",
        "exploitation_types": ["criminal"],
        "threats": ["county_lines", "missing_person"],
        "four_p": ["pursue", "protect"],
        "classification": "official",
        "narrative": "Demo: two young people found at an address used to supply drugs",
        "victims": [
            {"reference": "V1", "age": 15, "consent_to_share": "not_required",
             "consent_absent_reason": "would_prejudice_protection", "ictg_referral": true,
             "nrm_status": "rg_pending"},
            {"reference": "V2", "age": 19, "consent_to_share": "given", "nrm_status": "not_referred"}
        ]
    }))?;
    let once = super::idempotency::Once {
        owner: police_id.into(),
        key: None,
        scope: "POST /incidents".to_owned(),
        body: Value::Null,
    };
    let recorded = super::incidents::create(hub, police.clone(), police_id, incident, once)
        .await?
        .recorded;
    let referral_body = json!({
        "reference": "DEMO-NGO-0007",
        "area": "E08000025",
        "potential_victim": {"name": "Demo Child", "age": 16, "language": "Tigrinya",
                             "interpreter_needed": true},
        "nrm_consent": "not_required",
        "exploitation_types": ["labour"],
        "immediate_needs": ["accommodation", "interpreter"],
        "narrative": "Demo: a child working in a nail bar, referred by the NGO",
        "classification": "official_sensitive"
    });
    let referral: ReferralInput = serde_json::from_value(referral_body.clone())?;
    let keyed = Keyed {
        key: None,
        body: referral_body,
    };
    super::referrals::create(hub, ngo, ngo_id, keyed, referral, created).await?;
    let learning_body = json!({
        "subject": "operation",
        "title": "Demo Operation Kestrel debrief",
        "reference": "DEMO-OP-KESTREL",
        "incident_ids": [recorded.incident.id],
        "exploitation_types": ["criminal"],
        "threats": ["county_lines"],
        "lessons": [
            {"theme": "safeguarding", "worked": "The ICTG service was told the same day"},
            {"theme": "cps_early_advice", "did_not_work": "CPS early advice sought only after charge"}
        ],
        "recommendations": [
            {"text": "Seek CPS early advice at the first strategy meeting",
             "owner_agency_id": police_id, "due_on": (now + Duration::days(30)).date_naive()},
            {"text": "Return home interviews for every missing child found at a county lines address",
             "owner_agency_id": children_id, "due_on": (now + Duration::days(60)).date_naive()}
        ]
    });
    let input: LearningInput = serde_json::from_value(learning_body.clone())?;
    let new = input.parse(hub.settings().limits.list_items, now.date_naive())?;
    let keyed = Keyed {
        key: None,
        body: learning_body,
    };
    let r = super::learning::create(hub, police, police_id, pid, new, keyed).await?;
    id_of(&r.body).map(|_| ())
}
