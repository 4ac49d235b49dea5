//! `/referrals`: an NGO makes referrals and follows them (its own only); the agencies a
//! referral was sent to read it through their notifications and record lifecycle events.
//! `POST`s honour `Idempotency-Key`.
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use crate::app::AppState;
use crate::domain::audit::Actor;
use crate::domain::ids::{AgencyId, ReferralId};
use crate::domain::referral::ReferralInput;
use crate::domain::referral_lifecycle::{EventInput, Status};
use crate::error::AppError;
use crate::http::extract::body::parse as parse_json;
use crate::http::extract::roles::{AgencyStaff, CaseWorker};
use crate::http::extract::{parse_id, Authorized, IdempotencyKey, JsonBody};
use crate::http::wire::page::{page, PageQuery};
use crate::http::wire::referrals::{created_body, recorded_body, referral_body, summary};
use crate::identity::Principal;
use crate::usecase;
use crate::usecase::idempotency::{Keyed, Response};

fn agency_of(p: &Principal) -> Result<AgencyId, AppError> {
    p.agency_id
        .ok_or_else(|| AppError::Forbidden("referrals belong to agencies".into()))
}

/// Parses a JSON value as `T` with the same 422 pointers as a request body.
fn parse_value<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, AppError> {
    parse_json(&serde_json::to_vec(v)?)
}

fn keyed(key: IdempotencyKey, body: Value) -> Keyed {
    Keyed { key: key.0, body }
}

fn respond(r: Response, location: Option<String>) -> Result<HttpResponse, AppError> {
    let status = actix_web::http::StatusCode::from_u16(r.status).map_err(AppError::internal)?;
    let mut resp = HttpResponse::build(status);
    if let Some(l) = location {
        resp.insert_header((LOCATION, l));
    }
    if r.replayed {
        resp.insert_header(("idempotent-replayed", "true"));
    }
    Ok(resp.json(r.body))
}

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<CaseWorker>,
    key: IdempotencyKey,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let agency = agency_of(&auth.principal)?;
    let actor = Actor::from(&auth.principal);
    let input: ReferralInput = parse_value(&raw)?;
    let out = usecase::referrals::create(
        &state.hub,
        actor,
        agency,
        keyed(key, raw),
        input,
        created_body,
    )
    .await?;
    state.delivery.wake();
    let location = out
        .body
        .get("id")
        .and_then(Value::as_str)
        .map(|id| format!("/api/v1/referrals/{id}"));
    respond(out, location)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    #[serde(default)]
    pub overdue: bool,
    pub status: Option<String>,
}

pub async fn list(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    query: web::Query<ReferralQuery>,
) -> Result<HttpResponse, AppError> {
    let agency = agency_of(&auth.principal)?;
    let paging = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    };
    let limit = paging.limit()?;
    let after = paging.position()?;
    let status = query
        .status
        .as_deref()
        .map(|s| s.parse::<Status>().map_err(AppError::BadRequest))
        .transpose()?;
    let rows =
        usecase::referrals::find(&state.hub, agency, status, query.overdue, after, limit + 1)
            .await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        limit,
        |(s, _)| s.referral.id.clone(),
        |(s, o)| summary(&s, o),
    )))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: Authorized<AgencyStaff>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let agency = agency_of(&auth.principal)?;
    let id: ReferralId = parse_id(&id)?;
    let actor = Actor::from(&auth.principal);
    let view = usecase::referrals::read(&state.hub, actor, agency, id).await?;
    Ok(HttpResponse::Ok().json(referral_body(&view, state.hub.now())))
}

pub async fn record_event(
    state: web::Data<AppState>,
    auth: Authorized<CaseWorker>,
    key: IdempotencyKey,
    id: web::Path<String>,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let agency = agency_of(&auth.principal)?;
    let id: ReferralId = parse_id(&id)?;
    let actor = Actor::from(&auth.principal);
    let input: EventInput = parse_value(&raw)?;
    let out = usecase::referrals::record(
        &state.hub,
        actor,
        agency,
        id,
        keyed(key, raw),
        input,
        recorded_body,
    )
    .await?;
    state.delivery.wake();
    respond(out, None)
}
