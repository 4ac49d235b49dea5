//! `/incidents` (the reporting agency) and `/notifications` (the receiving agency).
use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::domain::ids::{IncidentId, NotificationId};
use crate::domain::incident::IncidentInput;
use crate::domain::precondition::etag;
use crate::error::AppError;
use crate::http::extract::body::parse as parse_json;
use crate::http::extract::roles::{AgencyStaff, IncidentRecorder};
use crate::http::extract::{parse_id, Authorized, Idempotent, IfMatch, JsonBody};
use crate::http::wire::audit::ReceiptOut;
use crate::http::wire::incidents::{incident_body, EscalationOut, NotificationOut, RoutingItem};
use crate::http::wire::page::{page, PageQuery};
use crate::http::wire::replay::REPLAYED;
use crate::usecase::{incidents, notifications};

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<IncidentRecorder>,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let body: IncidentInput = parse_json(&serde_json::to_vec(&raw)?)?;
    let actor = Actor::from(&auth.principal);
    let once = key.once(&auth.principal, raw);
    let created = incidents::create(&state.hub, actor, agency, body, once).await?;
    state.delivery.wake();
    let done = &created.recorded;
    let mut resp = HttpResponse::Created();
    resp.insert_header((LOCATION, format!("/api/v1/incidents/{}", done.incident.id)))
        .insert_header((ETAG, etag(done.version)));
    if created.replayed {
        resp.insert_header((REPLAYED, "true"));
    }
    Ok(resp.json(recorded_body(done, state.hub.now())))
}

/// The answer to a create or a change: the record, its version and its routing.
fn recorded_body(done: &incidents::Recorded, now: DateTime<Utc>) -> Value {
    let routing: Vec<RoutingItem> = done.routed.iter().map(RoutingItem::from).collect();
    let mut body = incident_body(done.incident.to_record(now), done.version, Some(routing));
    if let (Some(receipt), Some(obj)) = (&done.receipt, body.as_object_mut()) {
        obj.insert("receipt".into(), json!(ReceiptOut::from(receipt)));
    }
    body
}

pub async fn list(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let limit = query.limit()?;
    let after = query.position()?;
    let rows = incidents::list(&state.hub, agency, after, limit + 1).await?;
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
    let actor = Actor::from(&auth.principal);
    let stored = incidents::read(&state.hub, actor, agency, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, etag(stored.version)))
        .json(incident_body(
            stored.incident.to_record(state.hub.now()),
            stored.version,
            None,
        )))
}

/// Re-reads a merge-patched incident as a request body would be read (422 with pointers).
fn reparse(bytes: &[u8]) -> Result<IncidentInput, AppError> {
    parse_json(bytes)
}

pub async fn patch(
    state: web::Data<AppState>,
    auth: Authorized<IncidentRecorder>,
    id: web::Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(patch): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: IncidentId = parse_id(&id)?;
    let actor = Actor::from(&auth.principal);
    let done = incidents::patch(&state.hub, actor, agency, id, expected, patch, reparse).await?;
    state.delivery.wake();
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, etag(done.version)))
        .json(recorded_body(&done, state.hub.now())))
}

pub async fn routing(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: IncidentId = parse_id(&id)?;
    let actor = Actor::from(&auth.principal);
    let decisions = incidents::routing(&state.hub, actor, agency, id).await?;
    let items: Vec<RoutingItem> = decisions.iter().map(RoutingItem::from).collect();
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
    let now = state.hub.now();
    let overdue = query.overdue.then_some(now);
    let rows = notifications::list(&state.hub, agency, overdue, after, limit + 1).await?;
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
    let actor = Actor::from(&auth.principal);
    let p = match notifications::read(&state.hub, actor, agency, id).await? {
        notifications::Read::Record(p) => p,
        notifications::Read::Escalation(n) => {
            return Ok(HttpResponse::Ok().json(EscalationOut::new(&n, state.hub.now())))
        }
    };
    Ok(HttpResponse::Ok().json(json!({
        "id": p.notification.id.to_string(),
        "event": p.notification.event.as_str(),
        "record_kind": p.notification.record_kind,
        "record_id": p.notification.record_id,
        "record": p.record,
        "agreement_id": p.agreement.id,
        "agreement_version": p.agreement.version,
        "receipt": p.receipt.as_ref().map(ReceiptOut::from),
    })))
}

pub async fn acknowledge(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: NotificationId = parse_id(&id)?;
    let actor = Actor::from(&auth.principal);
    let n = notifications::acknowledge(&state.hub, actor, agency, id).await?;
    Ok(HttpResponse::Ok().json(NotificationOut::new(&n, state.hub.now())))
}
