//! `/support/...` and the support reports: commissioners register providers and services and
//! read their spend; practitioners place referred people with services; commissioners and
//! partnership members read the coverage of an area.
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::agency::GssCode;
use crate::domain::support::input::{
    EndInput, ExceptionInput, PlacementInput, ProviderInput, ServiceInput,
};
use crate::error::AppError;
use crate::http::extract::roles::{CapacityKeeper, CaseWorker, Commissioner, CoverageReader};
use crate::http::extract::{parse_id, Authorized, JsonBody};
use crate::http::wire::support as wire;
use crate::usecase::support::{catalogue, placements, reports};

pub async fn create_provider(
    state: web::Data<AppState>,
    auth: Authorized<Commissioner>,
    JsonBody(body): JsonBody<ProviderInput>,
) -> Result<HttpResponse, AppError> {
    let p = catalogue::create_provider(&state.hub, auth.principal, body).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/support/providers/{}", p.id)))
        .json(wire::provider(&p)))
}

pub async fn create_service(
    state: web::Data<AppState>,
    auth: Authorized<Commissioner>,
    JsonBody(body): JsonBody<ServiceInput>,
) -> Result<HttpResponse, AppError> {
    let s = catalogue::create_service(&state.hub, auth.principal, body).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/support/services/{}", s.id)))
        .json(wire::service(&s)))
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
    JsonBody(body): JsonBody<ExceptionInput>,
) -> Result<HttpResponse, AppError> {
    let id: Uuid = parse_id(&id)?;
    let (eid, x) = catalogue::record_exception(&state.hub, auth.principal, id, body).await?;
    Ok(HttpResponse::Created().json(wire::exception(id, eid, &x)))
}

pub async fn create_placement(
    state: web::Data<AppState>,
    auth: Authorized<CaseWorker>,
    JsonBody(body): JsonBody<PlacementInput>,
) -> Result<HttpResponse, AppError> {
    let v = placements::place(&state.hub, auth.principal, body).await?;
    state.delivery.wake();
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/api/v1/support/placements/{}", v.placement.id),
        ))
        .json(wire::placement(&v)))
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
    JsonBody(body): JsonBody<EndInput>,
) -> Result<HttpResponse, AppError> {
    let id: Uuid = parse_id(&id)?;
    let v = placements::end(&state.hub, auth.principal, id, body).await?;
    Ok(HttpResponse::Ok().json(wire::placement(&v)))
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
