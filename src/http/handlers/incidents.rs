//! `/incidents` (the reporting agency) and `/notifications` (the receiving agency).
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::domain::ids::{IncidentId, NotificationId};
use crate::domain::incident::IncidentInput;
use crate::domain::notification::Deadlines;
use crate::error::AppError;
use crate::http::extract::body::parse as parse_json;
use crate::http::extract::roles::{AgencyStaff, IncidentRecorder};
use crate::http::extract::{parse_id, Authorized, JsonBody};
use crate::http::wire::incidents::{incident_body, NotificationOut, RoutingItem};
use crate::http::wire::page::{page, PageQuery};
use crate::store::{incidents, notifications};
use crate::usecase;

fn deadlines(state: &AppState) -> Deadlines {
    Deadlines {
        child_hours: state.settings.notifications.ack_hours_child,
        adult_hours: state.settings.notifications.ack_hours_adult,
    }
}

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<IncidentRecorder>,
    JsonBody(body): JsonBody<IncidentInput>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let now = state.clock.now();
    let incident = body.parse(IncidentId::new().to_string(), agency, now)?;
    let actor = Actor::from(&auth.principal);
    let d = deadlines(&state);
    let (incident, routed) = state
        .db
        .write(move |c| usecase::incidents::create(c, &actor, incident, d, now))
        .await?;
    state.delivery.wake();
    let routing: Vec<RoutingItem> = routed.iter().map(RoutingItem::from).collect();
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/incidents/{}", incident.id)))
        .json(incident_body(incident.to_record(now), 1, Some(routing))))
}

pub async fn list(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let limit = query.limit()?;
    let after = query.position()?;
    let rows = state
        .db
        .read(move |c| incidents::list(c, agency, after.as_deref(), limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        limit,
        |s| s.incident.id.clone(),
        |s| {
            json!({"id": s.incident.id, "reference": s.incident.reference, "area": s.incident.area,
               "classification": s.incident.classification, "version": s.version,
               "created_at": s.created_at, "updated_at": s.updated_at})
        },
    )))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: IncidentId = parse_id(&id)?;
    let now = state.clock.now();
    let actor = Actor::from(&auth.principal);
    let key = id.to_string();
    let stored = state
        .db
        .write(move |c| usecase::incidents::read(c, &actor, agency, &key, now))
        .await?;
    Ok(HttpResponse::Ok().json(incident_body(
        stored.incident.to_record(now),
        stored.version,
        None,
    )))
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

pub async fn patch(
    state: web::Data<AppState>,
    auth: Authorized<IncidentRecorder>,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: IncidentId = parse_id(&id)?;
    if !patch.is_object() {
        return Err(AppError::validation("", "send a JSON merge patch object"));
    }
    let key = id.to_string();
    let actor = Actor::from(&auth.principal);
    let now = state.clock.now();
    let d = deadlines(&state);
    let (incident, routed) = state
        .db
        .write(move |c| {
            let stored = incidents::get(c, agency, &key)?
                .ok_or_else(|| usecase::refusal::not_found(&actor, "incident", &key, now))?;
            let mut input = stored.incident.to_input();
            merge(&mut input, &patch);
            let bytes = serde_json::to_vec(&input)?;
            let parsed: IncidentInput = parse_json(&bytes)?;
            let changed = parsed.parse(key.clone(), agency, now)?;
            usecase::incidents::update(c, &actor, changed, d, now)
        })
        .await?;
    state.delivery.wake();
    let version = routed
        .first()
        .map(|r| r.decision.incident_version)
        .unwrap_or(0);
    let routing: Vec<RoutingItem> = routed.iter().map(RoutingItem::from).collect();
    Ok(HttpResponse::Ok().json(incident_body(
        incident.to_record(now),
        version,
        Some(routing),
    )))
}

pub async fn routing(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: IncidentId = parse_id(&id)?;
    let key = id.to_string();
    let now = state.clock.now();
    let actor = Actor::from(&auth.principal);
    let decisions = state
        .db
        .read(move |c| match incidents::get(c, agency, &key)? {
            None => Err(usecase::refusal::not_found(&actor, "incident", &key, now)),
            Some(_) => incidents::decisions(c, &key),
        })
        .await?;
    let items: Vec<RoutingItem> = decisions
        .into_iter()
        .map(|d| {
            RoutingItem::from(&usecase::incidents::Routed {
                decision: d,
                notification_id: None,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
pub struct NotificationQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    #[serde(default)]
    pub overdue: bool,
}

pub async fn notifications_list(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    query: web::Query<NotificationQuery>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let paging = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    };
    let limit = paging.limit()?;
    let after = paging.after::<NotificationId>()?;
    let now = state.clock.now();
    let overdue = query.overdue.then_some(now);
    let rows = state
        .db
        .read(move |c| notifications::list(c, agency, overdue, after, limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        limit,
        |n| n.id.to_string(),
        |n| NotificationOut::new(&n, now),
    )))
}

pub async fn notification_get(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: NotificationId = parse_id(&id)?;
    let now = state.clock.now();
    let actor = Actor::from(&auth.principal);
    let p = state
        .db
        .write(move |c| usecase::notifications::read(c, &actor, agency, id, now))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "id": p.notification.id.to_string(),
        "event": p.notification.event.as_str(),
        "record_kind": p.notification.record_kind,
        "record_id": p.notification.record_id,
        "record": p.record,
        "agreement_id": p.agreement.id,
        "agreement_version": p.agreement.version,
        "receipt": {
            "seq": p.receipt.seq,
            "leaf_index": p.receipt.leaf_index,
            "tree_size": p.receipt.tree_size,
            "root_hash": p.receipt.root_hash,
        },
    })))
}

pub async fn acknowledge(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: NotificationId = parse_id(&id)?;
    let now = state.clock.now();
    let actor = Actor::from(&auth.principal);
    let n = state
        .db
        .write(move |c| usecase::notifications::acknowledge(c, &actor, agency, id, now))
        .await?;
    Ok(HttpResponse::Ok().json(NotificationOut::new(&n, now)))
}
