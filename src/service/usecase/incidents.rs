//! Recording an incident and routing it. The routing is planned first, on a reader (the
//! statutory recipients, the subscribers and the agreements, through the epoch cache, then the
//! pure plan); the write then holds the policy epoch the plan was made on and, in one intent,
//! stores the incident, its `collection` entry, one `disclosure` entry per candidate (shared
//! with the fields named, or withheld with the reasons), the notifications and the outbox
//! rows. A change re-routes: existing recipients get an update, new ones a first
//! notification, and a recipient whose agreement no longer permits gets nothing more.
use super::refusal;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::audit::{self, Sealed, Unproven};
use crate::domain::audit::{Actor, Decision as AuditDecision, NewEntry, Operation};
use crate::domain::fields::RecordKind;
use crate::domain::ids::{AgencyId, IncidentId};
use crate::domain::incident::{Incident, IncidentInput};
use crate::domain::msht::EventType;
use crate::domain::notification::Deadlines;
use crate::domain::precondition::Expected;
use crate::domain::projection;
use crate::domain::records::{Decision, StoredIncident as Stored};
use crate::domain::routing;
use crate::domain::routing::plan::Ask;
use crate::domain::sharing::Purpose;
use crate::domain::subscription::Facets;
use crate::error::AppError;
use crate::service::store::incidents;
use crate::service::store::DbConn;
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::{self, Once};
use crate::usecase::routing::{check_epoch, planned, until_fresh, Planned, Wanted};

pub mod outcomes;
mod ready;
mod route;

use ready::Ready;
use route::Route;

const KIND: &str = "incident";

/// Plans the routing of `incident` on a reader.
async fn plan(hub: &Hub, incident: Arc<Incident>, now: DateTime<Utc>) -> Result<Planned, AppError> {
    let cache = hub.plans().clone();
    hub.snapshot(move |c| {
        let any_child = incident.any_child(now);
        let wanted = Wanted {
            discloser: incident.reporting_agency,
            area: &incident.area,
            statutory: routing::statutory_kinds(any_child, incident.any_adult_at_risk(now)),
            subscribers: Some((
                EventType::IncidentNotified,
                Facets {
                    area: &incident.area,
                    exploitation_types: &incident.exploitation_types,
                    threats: &incident.threats,
                    any_child,
                    any_adult: incident.any_adult(now),
                },
            )),
        };

        let subjects = incident.subjects(now);
        let ask = Ask {
            discloser: incident.reporting_agency,
            record_kind: RecordKind::Incident,
            classification: incident.classification,
            purpose: |_| Purpose::Safeguarding,
            withheld: &[],
            subjects: &subjects,
            consent_withdrawn: false,
            at: now,
        };
        planned(c, &cache, &wanted, &ask)
    })
    .await
}

/// A recorded (or changed) incident, its version and where it went.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub incident: Incident,
    pub version: i32,
    pub routed: Vec<Decision>,
    /// The receipt of the entry recording it (the routing was decided in its transaction),
    /// sealed.
    pub receipt: Option<Sealed>,
    /// That receipt until it is sealed, after the write commits.
    pub(in crate::service) pending: Option<Unproven>,
}

impl Recorded {
    /// Seals the receipt of the recording entry, once it has committed.
    fn sealed(mut self, hub: &Hub) -> Result<Self, AppError> {
        if let Some(p) = self.pending.take() {
            self.receipt = Some(hub.seal(p)?);
        }
        Ok(self)
    }
}

/// A recorded incident, or, for a retry with the same `Idempotency-Key`, the incident the
/// first request recorded (as it now stands).
#[derive(Debug, Clone)]
pub struct Created {
    pub recorded: Recorded,
    pub replayed: bool,
}

/// Records a new incident of the caller's `agency` and routes it, once per key of `once`:
/// a retry neither records nor notifies again. The key's record holds only the incident's
/// id; a retry re-reads the incident it points at (a logged consultation).
pub async fn create(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    input: IncidentInput,
    once: Once,
) -> Result<Created, AppError> {
    let now = hub.now();
    let incident = Arc::new(input.parse(
        IncidentId::new().to_string(),
        agency,
        now,
        &hub.settings().limits,
    )?);
    let deadlines = hub.deadlines();
    until_fresh(|| {
        let (actor, incident, once) = (actor.clone(), incident.clone(), once.clone());
        async move {
            let planned = plan(hub, incident.clone(), now).await?;
            let epoch = planned.epoch;
            let ready = Ready::new(&actor, &incident, &planned, deadlines, now)?;
            // Appending: all its rows wait for the batch's flush. A retry with its key taken
            // into the same batch finds the incident and its decisions among them.
            hub.write_appending(move |c| {
                check_epoch(c, epoch)?;
                let mut made = None;
                let key = once.key.as_deref();
                let first =
                    idempotency::run(c, &once.owner, key, &once.scope, &once.body, now, |c| {
                        let r = ready.write(c, &incident, now)?;
                        let pointer = serde_json::json!({ "id": r.incident.id });
                        made = Some(r);
                        Ok((201, pointer))
                    })?;
                match made {
                    Some(recorded) => Ok(Created {
                        recorded,
                        replayed: false,
                    }),
                    None => replayed(c, &actor, agency, &first.body, now),
                }
            })
            .await?
            .sealed(hub)
        }
    })
    .await
}

impl Created {
    /// Seals the receipt of the recording entry, once it has committed (a replay has none
    /// of its own: the key keeps only the incident's id).
    fn sealed(mut self, hub: &Hub) -> Result<Created, AppError> {
        self.recorded = self.recorded.sealed(hub)?;
        Ok(self)
    }
}

/// The incident a first request recorded, read again for its retry.
fn replayed(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyId,
    pointer: &Value,
    now: DateTime<Utc>,
) -> Result<Created, AppError> {
    let id = pointer
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| AppError::internal("an incident key without its incident id"))?;
    let stored = incidents::get(conn, agency, id)?.ok_or(AppError::NotFound)?;
    let routed = incidents::decisions(conn, id)?;
    let entry = NewEntry {
        subject_refs: stored.incident.subject_refs(),
        classification: Some(stored.incident.classification.as_str().to_owned()),
        ..NewEntry::new(Operation::Consultation, actor.clone(), now)
            .record(KIND, id)
            .purpose(Purpose::Safeguarding.as_str())
            .justification("a retried POST /incidents (same Idempotency-Key) answered its incident")
            .decision(AuditDecision::Allowed, Vec::new())
    };
    audit::append(conn, &entry)?;
    Ok(Created {
        recorded: Recorded {
            incident: stored.incident,
            version: stored.version,
            routed,
            receipt: None,
            pending: None,
        },
        replayed: true,
    })
}

/// RFC 7396 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Changes an incident of the caller's `agency` with a JSON merge patch (RFC 7396) and
/// routes it again, if it is still at a version `expected` allows (412 otherwise, also when
/// another change lands between the read and the write). Another agency's incident is a
/// logged 404; the patched incident is validated like a new one (422 with pointers).
pub async fn patch(
    hub: &Hub,
    actor: Actor,
    agency: AgencyId,
    id: IncidentId,
    expected: Expected,
    patch: Value,
    reparse: fn(&[u8]) -> Result<IncidentInput, AppError>,
) -> Result<Recorded, AppError> {
    if !patch.is_object() {
        return Err(AppError::validation("", "send a JSON merge patch object"));
    }
    let key = id.to_string();
    let deadlines = hub.deadlines();
    until_fresh(|| {
        let (actor, key, patch, expected) = (actor.clone(), key.clone(), &patch, &expected);
        async move {
            let now = hub.now();
            let (who, k) = (actor.clone(), key.clone());
            let before = hub
                .read(move |c| {
                    incidents::get(c, agency, &k)?
                        .ok_or_else(|| refusal::not_found(&who, KIND, &k, now))
                })
                .await?;
            if !expected.allows(before.version) {
                return Err(AppError::PreconditionFailed(format!(
                    "the incident is at version {} (ETag \"{}\"); read it again and apply \
                     your change to that version",
                    before.version, before.version
                )));
            }
            let mut input = before.incident.to_input();
            merge(&mut input, patch);
            let bytes = serde_json::to_vec(&input)?;
            let changed = reparse(&bytes)?.parse(key, agency, now, &hub.settings().limits)?;
            let changed = Arc::new(changed.keep_outcomes(&before.incident));
            let planned = plan(hub, changed.clone(), now).await?;
            hub.write(move |c| {
                check_epoch(c, planned.epoch)?;
                update_in(c, &actor, &before, &changed, &planned, deadlines, now)
            })
            .await?
            .sealed(hub)
        }
    })
    .await
}

/// The write of a change planned from `before`; stale if the incident changed meanwhile.
fn update_in(
    conn: &mut DbConn,
    actor: &Actor,
    before: &Stored,
    changed: &Incident,
    planned: &Planned,
    deadlines: Deadlines,
    now: DateTime<Utc>,
) -> Result<Recorded, AppError> {
    let current =
        incidents::get(conn, changed.reporting_agency, &changed.id)?.ok_or(AppError::NotFound)?;
    if current.version != before.version {
        return Err(AppError::StalePlan);
    }
    let version = incidents::update(conn, changed, now)?;
    let previous = incidents::decisions(conn, &changed.id)?;
    let record = changed.to_record(now);
    let mut entries = vec![NewEntry {
        subject_refs: changed.subject_refs(),
        data_items: changed_paths(&before.incident.to_record(now), &record),
        classification: Some(changed.classification.as_str().to_owned()),
        ..NewEntry::new(Operation::Alteration, actor.clone(), now)
            .record(KIND, &changed.id)
            .purpose(Purpose::Safeguarding.as_str())
            .justification(format!(
                "MSHT incident {} changed (version {version})",
                changed.reference
            ))
    }];
    let to = Route {
        incident: changed,
        record: &record,
        version,
        previous: &previous,
        deadlines,
        now,
    };
    let routed = to.write(conn, actor, planned, &mut entries)?;
    let first = audit::append_all_provable(conn, &entries)?;
    Ok(Recorded {
        incident: changed.clone(),
        version,
        routed,
        receipt: None,
        pending: first,
    })
}

/// The field paths whose values differ between two versions of a record.
fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut all = projection::paths_present(before);
    all.extend(projection::paths_present(after));
    all.sort();
    all.dedup();
    all.into_iter()
        .filter(|p| {
            let one = [p.clone()];
            projection::project(before, &one) != projection::project(after, &one)
        })
        .collect()
}

/// The reporting agency reads its own incident; the read is a `consultation`, committed
/// before the answer. Anyone else gets a logged 404.
pub async fn read(
    hub: &Hub,
    actor: Actor,
    reporter: AgencyId,
    id: IncidentId,
) -> Result<Stored, AppError> {
    let now = hub.now();
    let key = id.to_string();
    let who = actor.clone();
    let stored = hub
        .read(move |c| {
            incidents::get(c, reporter, &key)?
                .ok_or_else(|| refusal::not_found(&who, KIND, &key, now))
        })
        .await?;
    let entry = NewEntry {
        subject_refs: stored.incident.subject_refs(),
        classification: Some(stored.incident.classification.as_str().to_owned()),
        ..NewEntry::new(Operation::Consultation, actor, now)
            .record(KIND, id)
            .purpose(Purpose::Safeguarding.as_str())
            .justification("the reporting agency read its incident")
            .decision(AuditDecision::Allowed, Vec::new())
    };
    hub.write(move |c| audit::append(c, &entry)).await?;
    Ok(stored)
}

/// A page of the reporting agency's incidents.
pub async fn list(
    hub: &Hub,
    reporter: AgencyId,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<Stored>, AppError> {
    hub.read(move |c| incidents::list(c, reporter, after.as_deref(), limit))
        .await
}

/// Where the reporting agency's incident went (another agency's is a logged 404).
pub async fn routing(
    hub: &Hub,
    actor: Actor,
    reporter: AgencyId,
    id: IncidentId,
) -> Result<Vec<Decision>, AppError> {
    let now = hub.now();
    let key = id.to_string();
    hub.read(move |c| match incidents::get(c, reporter, &key)? {
        None => Err(refusal::not_found(&actor, KIND, &key, now)),
        Some(_) => incidents::decisions(c, &key),
    })
    .await
}
