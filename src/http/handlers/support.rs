//! `/support/...` and the support reports: commissioners register providers and services and
//! read their spend; practitioners place referred people with services; commissioners and
//! partnership members read the coverage of an area.
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::agency::GssCode;
use crate::domain::support::input::{
    EndInput, ExceptionInput, PlacementInput, ProviderInput, ServiceInput,
};
use crate::error::AppError;
use crate::http::extract::body::parse as parse_json;
use crate::http::extract::roles::{CapacityKeeper, CaseWorker, Commissioner, CoverageReader};
use crate::http::extract::{parse_id, Authorized, IdempotencyKey, Idempotent, JsonBody};
use crate::http::wire::replay::{answer, Headers};
use crate::http::wire::support as wire;
use crate::usecase::idempotency::{Keyed, Response};
use crate::usecase::support::{catalogue, placements, reports};

/// Parses a JSON value as `T` with the same 422 pointers as a request body.
fn parse_value<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, AppError> {
    parse_json(&serde_json::to_vec(v)?)
}

/// The answer of a creating POST, with `Location` under `collection` and the replay header.
fn created(r: Response, collection: &str) -> Result<HttpResponse, AppError> {
    let status = actix_web::http::StatusCode::from_u16(r.status).map_err(AppError::internal)?;
    let mut resp = HttpResponse::build(status);
    if let Some(id) = r.body.get("id").and_then(Value::as_str) {
        resp.insert_header((LOCATION, format!("/api/v1/support/{collection}/{id}")));
    }
    if r.replayed {
        resp.insert_header(("idempotent-replayed", "true"));
    }
    Ok(resp.json(r.body))
}

pub async fn create_provider(
    state: web::Data<AppState>,
    auth: Authorized<Commissioner>,
    key: IdempotencyKey,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let input: ProviderInput = parse_value(&raw)?;
    let request = Keyed {
        key: key.0,
        body: raw,
    };
    let r = catalogue::create_provider(&state.hub, auth.principal, request, input, wire::provider)
        .await?;
    created(r, "providers")
}

pub async fn create_service(
    state: web::Data<AppState>,
    auth: Authorized<Commissioner>,
    key: IdempotencyKey,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let input: ServiceInput = parse_value(&raw)?;
    let request = Keyed {
        key: key.0,
        body: raw,
    };
    let r = catalogue::create_service(&state.hub, auth.principal, request, input, wire::service)
        .await?;
    created(r, "services")
}

pub async fn list_services(
    state: web::Data<AppState>,
    auth: Authorized<Commissioner>,
) -> Result<HttpResponse, AppError> {
    let items = catalogue::list_services(&state.hub, auth.principal).await?;
    let items: Vec<Value> = items.iter().map(wire::service_view).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn get_service(
    state: web::Data<AppState>,
    auth: Authorized<Commissioner>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: Uuid = parse_id(&id)?;
    let v = catalogue::read_service(&state.hub, auth.principal, id).await?;
    Ok(HttpResponse::Ok().json(wire::service_view(&v)))
}

pub async fn create_exception(
    state: web::Data<AppState>,
    auth: Authorized<CapacityKeeper>,
    id: web::Path<String>,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let id: Uuid = parse_id(&id)?;
    let body: ExceptionInput = parse_value(&raw)?;
    let once = key.once(&auth.principal, raw);
    let shape = move |(eid, x): &(Uuid, _)| Ok((201, wire::exception(id, *eid, x)));
    let p = auth.principal;
    let done = catalogue::record_exception(&state.hub, p, id, body, once, shape).await?;
    answer(done.response, Headers::default())
}

pub async fn create_placement(
    state: web::Data<AppState>,
    auth: Authorized<CaseWorker>,
    key: IdempotencyKey,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let input: PlacementInput = parse_value(&raw)?;
    let request = Keyed {
        key: key.0,
        body: raw,
    };
    let r = placements::place(&state.hub, auth.principal, request, input, wire::placement).await?;
    state.delivery.wake();
    created(r, "placements")
}

pub async fn get_placement(
    state: web::Data<AppState>,
    auth: Authorized<CoverageReader>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: Uuid = parse_id(&id)?;
    let v = placements::read(&state.hub, auth.principal, id).await?;
    Ok(HttpResponse::Ok().json(wire::placement(&v)))
}

pub async fn end_placement(
    state: web::Data<AppState>,
    auth: Authorized<CaseWorker>,
    id: web::Path<String>,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let id: Uuid = parse_id(&id)?;
    let body: EndInput = parse_value(&raw)?;
    let once = key.once(&auth.principal, raw);
    let shape = |v: &_| Ok((200, wire::placement(v)));
    let done = placements::end(&state.hub, auth.principal, id, body, once, shape).await?;
    answer(done.response, Headers::default())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageQuery {
    pub area: String,
}

pub async fn coverage(
    state: web::Data<AppState>,
    auth: Authorized<CoverageReader>,
    query: web::Query<CoverageQuery>,
) -> Result<HttpResponse, AppError> {
    let area = GssCode::parse(&query.area).map_err(AppError::BadRequest)?;
    let r = reports::coverage(&state.hub, auth.principal, area).await?;
    Ok(HttpResponse::Ok().json(wire::coverage(&r)))
}

pub async fn spend(
    state: web::Data<AppState>,
    auth: Authorized<Commissioner>,
) -> Result<HttpResponse, AppError> {
    let s = reports::spend(&state.hub, auth.principal).await?;
    Ok(HttpResponse::Ok().json(wire::spend(&s)))
}
