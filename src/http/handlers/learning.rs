//! Learning records and recommendations of a partnership, for its members:
//! `POST/GET /partnerships/{id}/learning-records`, `GET /learning-records/{id}`,
//! `POST /learning-records/{id}/recommendations`, `GET /partnerships/{id}/recommendations`
//! and `POST /learning-recommendations/{id}/status`.
use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::domain::ids::{LearningRecordId, PartnershipId, RecommendationId};
use crate::domain::learning::{LearningInput, RecommendationInput, StatusInput};
use crate::error::AppError;
use crate::http::extract::body::parse as parse_json;
use crate::http::extract::roles::{AgencyStaff, LearningReader};
use crate::http::extract::{parse_id, Authorized, IdempotencyKey, JsonBody};
use crate::http::wire::page::{page, PageQuery};
use crate::usecase::idempotency::Keyed;
use crate::usecase::learning::{self, Which};

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    id: web::Path<String>,
    key: IdempotencyKey,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let pid: PartnershipId = parse_id(&id)?;
    let body: LearningInput = parse_json(&serde_json::to_vec(&raw)?)?;
    let today = state.hub.now().date_naive();
    let new = body.parse(state.hub.settings().limits.list_items, today)?;
    let actor = Actor::from(&auth.principal);
    let request = Keyed {
        key: key.0,
        body: raw,
    };
    let r = learning::create(&state.hub, actor, agency, pid, new, request).await?;
    let status = StatusCode::from_u16(r.status).map_err(AppError::internal)?;
    let mut resp = HttpResponse::build(status);
    if let Some(id) = r.body.get("id").and_then(Value::as_str) {
        resp.insert_header((LOCATION, format!("/api/v1/learning-records/{id}")));
    }
    if r.replayed {
        resp.insert_header(("idempotent-replayed", "true"));
    }
    Ok(resp.json(r.body))
}

pub async fn list(
    state: web::Data<AppState>,
    auth: Authorized<LearningReader>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let pid: PartnershipId = parse_id(&id)?;
    let limit = query.limit()?;
    let after: Option<LearningRecordId> = query.after()?;
    let actor = Actor::from(&auth.principal);
    let rows = learning::list(&state.hub, actor, agency, pid, after, limit).await?;
    Ok(HttpResponse::Ok().json(page(rows, limit, |r| r.record.id.to_string(), |r| r)))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: Authorized<LearningReader>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: LearningRecordId = parse_id(&id)?;
    let actor = Actor::from(&auth.principal);
    Ok(HttpResponse::Ok().json(learning::get(&state.hub, actor, agency, id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendationsQuery {
    pub status: Option<String>,
}

pub async fn recommendations(
    state: web::Data<AppState>,
    auth: Authorized<LearningReader>,
    id: web::Path<String>,
    query: web::Query<RecommendationsQuery>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let pid: PartnershipId = parse_id(&id)?;
    let which = match query.status.as_deref() {
        None | Some("open") => Which::Open,
        Some("overdue") => Which::Overdue,
        Some("closed") => Which::Closed,
        Some(_) => {
            return Err(AppError::validation(
                "/status",
                "must be open, overdue or closed",
            ))
        }
    };
    let actor = Actor::from(&auth.principal);
    let items = learning::recommendations(&state.hub, actor, agency, pid, which).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn set_status(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    id: web::Path<String>,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: RecommendationId = parse_id(&id)?;
    let body: StatusInput = parse_json(&serde_json::to_vec(&raw)?)?;
    let change = body.parse()?;
    let actor = Actor::from(&auth.principal);
    Ok(HttpResponse::Ok().json(learning::set_status(&state.hub, actor, agency, id, change).await?))
}

pub async fn add_recommendation(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    id: web::Path<String>,
    key: IdempotencyKey,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: LearningRecordId = parse_id(&id)?;
    let body: RecommendationInput = parse_json(&serde_json::to_vec(&raw)?)?;
    let new = body.parse(state.hub.now().date_naive())?;
    let actor = Actor::from(&auth.principal);
    let request = Keyed {
        key: key.0,
        body: raw,
    };
    let r = learning::add_recommendation(&state.hub, actor, agency, id, new, request).await?;
    let status = StatusCode::from_u16(r.status).map_err(AppError::internal)?;
    let mut resp = HttpResponse::build(status);
    if r.replayed {
        resp.insert_header(("idempotent-replayed", "true"));
    }
    Ok(resp.json(r.body))
}
