//! Making a referral: an NGO's only (others are a logged 403). Its routing is planned on a
//! reader (the police force(s) and the MASH for the area, and for a child the children's
//! safeguarding partnership and the ICTG service, each put to the policy function with the
//! pathway's withheld fields as an input); the write then holds the policy epoch and stores
//! the referral, its `collection` entry, one `disclosure` entry per candidate, the
//! notifications and the outbox rows, once per `Idempotency-Key`.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::{purpose_for, Timing, KIND};
use crate::audit::{self, Sealed};
use crate::domain::agency::AgencyKind;
use crate::domain::audit::{Actor, Decision as AuditDecision, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ids::{AgencyId, NotificationId, ReferralId};
use crate::domain::msht::EventType;
use crate::domain::notification::Notification;
use crate::domain::policy::PolicyDecision;
use crate::domain::projection;
use crate::domain::records::{Decision, StoredReferral as Stored};
use crate::domain::referral::{Referral, ReferralInput};
use crate::domain::referral_lifecycle::Status;
use crate::domain::routing::plan::Ask;
use crate::domain::routing::{self, Route};
use crate::domain::sharing::Purpose;
use crate::error::AppError;
use crate::service::store::referrals;
use crate::service::store::{agencies, DbConn};
use crate::usecase::hub::{Hub, Sealer};
use crate::usecase::idempotency::{self, Keyed, Response};
use crate::usecase::routing::{
    check_epoch, planned, until_fresh, withheld_entry, Planned, Told, Wanted,
};

/// Plans the routing of `referral` on a reader.
async fn plan(hub: &Hub, referral: Arc<Referral>, now: DateTime<Utc>) -> Result<Planned, AppError> {
    let cache = hub.plans().clone();
    hub.snapshot(move |c| {
        let wanted = Wanted {
            discloser: referral.referring_agency,
            area: &referral.area,
            statutory: routing::referral_kinds(referral.child),
            subscribers: None,
        };

        let ask = Ask {
            discloser: referral.referring_agency,
            record_kind: RecordKind::Referral,
            classification: referral.classification,
            purpose: purpose_for,
            withheld: referral.withheld(),
            subjects: &[],
            consent_withdrawn: false,
            at: now,
        };
        planned(c, &cache, &wanted, &ask)
    })
    .await
}

/// Records a referral by the caller's `referrer` agency (an NGO) and routes it, once per
/// `key`: a retry with the same key and body gets the first answer, shaped by `shape`.
pub async fn create(
    hub: &Hub,
    actor: Actor,
    referrer: AgencyId,
    request: Keyed,
    input: ReferralInput,
    shape: fn(&Created) -> Value,
) -> Result<Response, AppError> {
    let now = hub.now();
    let who = actor.clone();
    hub.read(move |c| may_refer(c, &who, referrer, now)).await?;
    let referral = Arc::new(input.parse(
        ReferralId::new().to_string(),
        referrer,
        now,
        &hub.settings().limits,
    )?);
    let timing = hub.referral_timing();
    let request = Arc::new(request);
    until_fresh(|| {
        let (actor, referral, timing) = (actor.clone(), referral.clone(), timing.clone());
        let request = request.clone();
        async move {
            let planned = plan(hub, referral.clone(), now).await?;
            let sealer = hub.sealer();
            hub.write(move |c| {
                check_epoch(c, planned.epoch)?;
                let scope = "POST /referrals";
                let (key, raw) = (request.key.as_deref(), &request.body);
                idempotency::run(c, &referrer.into(), key, scope, raw, now, |c| {
                    let created = create_in(c, &actor, &referral, &planned, &timing, now, &sealer)?;
                    Ok((201, shape(&created)))
                })
            })
            .await
        }
    })
    .await
}

/// Passes if `agency` may make referrals (an NGO); otherwise a logged 403.
pub fn may_refer(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let a = agencies::get(conn, agency)?.ok_or(AppError::NotFound)?;
    if a.kind == AgencyKind::Ngo {
        return Ok(());
    }
    let entry = NewEntry::new(Operation::AccessDenied, actor.clone(), now)
        .justification("POST /referrals by an agency that is not an NGO")
        .decision(
            AuditDecision::Denied,
            vec![format!("agency kind {} does not make referrals", a.kind)],
        );
    Err(AppError::denied(
        AppError::Forbidden(
            "referrals are made by NGOs (agency kind `ngo`); statutory first responders \
             refer into the NRM directly"
                .into(),
        ),
        entry,
    ))
}

/// A new referral and where it went.
#[derive(Debug, Clone)]
pub struct Created {
    pub stored: Stored,
    pub routing: Vec<Decision>,
    /// What the referrer should know: nobody covers the area, nobody may receive it.
    pub warnings: Vec<String>,
    /// The sealed receipt of the referral's collection entry (its routing was decided in
    /// the same transaction).
    pub receipt: Option<Sealed>,
}

/// The thin webhook data for one recipient: ids, and only those facets it may see.
fn thin_data(referral: &Referral, notification: NotificationId, fields: &[String]) -> Value {
    let mut data = Map::new();
    data.insert("notification_id".into(), json!(notification.to_string()));
    data.insert("referral_id".into(), json!(referral.id));
    data.insert("classification".into(), json!(referral.classification));
    let thin: Vec<String> = [
        "area",
        "exploitation_types",
        "pathway",
        "potential_victim.age_band",
        "potential_victim.is_child",
    ]
    .into_iter()
    .filter(|f| fields.iter().any(|x| x == f))
    .map(str::to_owned)
    .collect();
    let record = referral.disclosure_record(Status::Submitted);
    if let Value::Object(p) = projection::project(&record, &thin) {
        data.extend(p);
    }
    Value::Object(data)
}

/// The write of a referral with its planned routing.
#[allow(clippy::too_many_arguments)]
fn create_in(
    conn: &mut DbConn,
    actor: &Actor,
    referral: &Referral,
    planned: &Planned,
    timing: &Timing,
    now: DateTime<Utc>,
    sealer: &Sealer,
) -> Result<Created, AppError> {
    let referrer = referral.referring_agency;
    let ack_due = timing.ack_due(now);
    referrals::insert(conn, referral, ack_due, now)?;
    let consent = referral.consent_state(false);
    let classification = referral.classification.as_str().to_owned();
    let mut entries = vec![NewEntry {
        subject_refs: referral.subject_refs(),
        data_items: projection::paths_present(&referral.to_record(Status::Submitted))
            .into_iter()
            .filter(|p| crate::domain::fields::is_known(RecordKind::Referral, p))
            .collect(),
        classification: Some(classification.clone()),
        consent: Some(consent.clone()),
        ..NewEntry::new(Operation::Collection, actor.clone(), now)
            .record(KIND, &referral.id)
            .purpose(Purpose::NrmReferral.as_str())
            .justification(format!(
                "referral of a potential victim ({} pathway{})",
                referral.pathway,
                if referral.child { ", child" } else { "" }
            ))
    }];
    let mut warnings = Vec::new();
    for (route, what) in [(Route::Police, "police force"), (Route::Mash, "MASH")] {
        if !planned.outcomes.iter().any(|o| o.candidate.route == route) {
            warnings.push(format!(
                "no {what} in the hub covers area {}; contact it directly",
                referral.area
            ));
        }
    }
    let mut routed = Vec::new();
    let mut told = Told::default();
    for o in &planned.outcomes {
        let (candidate, purpose) = (&o.candidate, o.purpose);
        let base = NewEntry {
            subject_refs: referral.subject_refs(),
            classification: Some(classification.clone()),
            consent: Some(consent.clone()),
            ..NewEntry::new(Operation::Disclosure, actor.clone(), now)
                .record(KIND, &referral.id)
                .purpose(purpose.as_str())
        };
        let decision = match &o.decision {
            PolicyDecision::Permit(p) => {
                // Final: the policy function withheld what the pathway never discloses.
                let fields = p.fields.clone();
                let n = Notification {
                    id: NotificationId::new(),
                    agency_id: candidate.agency_id,
                    discloser: referrer,
                    record_kind: KIND.to_owned(),
                    record_id: referral.id.clone(),
                    event: EventType::ReferralReceived,
                    purpose: purpose.as_str().to_owned(),
                    classification: classification.clone(),
                    child_at_risk: referral.child,
                    created_at: now,
                    due_at: ack_due,
                    acknowledged_at: None,
                    acknowledged_by: None,
                    escalated_at: None,
                    overdue_agency_id: None,
                    overdue_notification_id: None,
                };
                let subs = planned
                    .channels
                    .get(&candidate.agency_id)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let data = thin_data(referral, n.id, &fields);
                let id = n.id;
                told.notify(n, subs, data, now);
                entries.push(NewEntry {
                    data_items: fields.clone(),
                    agreement: Some(p.agreement.clone()),
                    lawful_basis: Some(p.lawful_basis.clone()),
                    retention_days: Some(p.retention_days),
                    ..base
                        .recipients(vec![candidate.agency_id])
                        .decision(AuditDecision::Shared, Vec::new())
                        .justification(format!(
                            "referral ({} pathway) to the {} route under agreement {} v{}",
                            referral.pathway,
                            candidate.route.as_str(),
                            p.agreement.id,
                            p.agreement.version
                        ))
                });
                Decision::withheld(candidate, purpose, None, Vec::new(), now).notified(
                    p.agreement.clone(),
                    fields,
                    id,
                )
            }
            PolicyDecision::Deny(reasons) => {
                let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                entries.push(withheld_entry(
                    base,
                    candidate.agency_id,
                    candidate.route,
                    reasons.clone(),
                    "referral ",
                ));
                Decision::withheld(candidate, purpose, None, reasons, now)
            }
        };
        referrals::insert_decision(conn, &referral.id, &decision)?;
        routed.push(decision);
    }
    told.write(conn)?;
    if !routed.iter().any(|d| d.notified) {
        warnings.push(
            "no agency received this referral: no active agreement permits it; contact the \
             police directly (999 if anyone is in immediate danger)"
                .to_owned(),
        );
    }
    let receipt = audit::append_all_provable(conn, &entries)?
        .map(|p| sealer.seal(conn, p))
        .transpose()?;
    let stored = referrals::get(conn, referrer, &referral.id)?.ok_or(AppError::NotFound)?;
    Ok(Created {
        stored,
        routing: routed,
        warnings,
        receipt,
    })
}
