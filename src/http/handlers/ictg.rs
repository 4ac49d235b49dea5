//! ICTG monitoring: `GET /ictg/children` (the children referred to an ICTG service that the
//! caller's agency holds or was told of, with allocation and NRM status) and
//! `POST /incidents/{id}/ictg-allocations` (the ICTG service records a guardian's allocation
//! to an incident's child victim).
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::domain::fields::RecordKind;
use crate::domain::ictg::{AllocationInput, AllocationState};
use crate::domain::ids::IncidentId;
use crate::domain::validate::Errors;
use crate::error::AppError;
use crate::http::extract::body::parse as parse_json;
use crate::http::extract::roles::{AgencyStaff, CaseWorker};
use crate::http::extract::{parse_id, Authorized, IdempotencyKey, JsonBody};
use crate::http::wire::page::{page, PageQuery};
use crate::usecase::ictg;
use crate::usecase::idempotency::Keyed;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildrenQuery {
    pub state: Option<String>,
    pub record_kind: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    query: web::Query<ChildrenQuery>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let mut e = Errors::new();
    let filter = ictg::Filter {
        state: query
            .state
            .as_deref()
            .and_then(|s| e.take("/state", s.parse::<AllocationState>())),
        record_kind: query
            .record_kind
            .as_deref()
            .and_then(|s| e.take("/record_kind", s.parse::<RecordKind>())),
    };
    e.finish()?;
    let paging = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    };
    let limit = paging.limit()?;
    let after = paging.position()?;
    let rows = ictg::list(&state.hub, agency, filter, after, limit).await?;
    Ok(HttpResponse::Ok().json(page(rows, limit, ictg::position, |c| c)))
}

pub async fn allocate(
    state: web::Data<AppState>,
    auth: Authorized<CaseWorker>,
    id: web::Path<String>,
    key: IdempotencyKey,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: IncidentId = parse_id(&id)?;
    let body: AllocationInput = parse_json(&serde_json::to_vec(&raw)?)?;
    let new = body.parse()?;
    let actor = Actor::from(&auth.principal);
    let request = Keyed {
        key: key.0,
        body: raw,
    };
    let r = ictg::allocate(&state.hub, actor, agency, id, new, request).await?;
    let status = StatusCode::from_u16(r.status).map_err(AppError::internal)?;
    let mut resp = HttpResponse::build(status);
    if r.replayed {
        resp.insert_header(("idempotent-replayed", "true"));
    }
    Ok(resp.json(r.body))
}
