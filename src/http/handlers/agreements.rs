//! `/agreements`: drafting, amending, signing, suspending, resuming and terminating
//! data-sharing agreements, listing them, and the policy dry run.
use actix_web::http::header::ETAG;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::agreement::Status;
use crate::domain::ids::{AgencyId, AgreementId, PartnershipId};
use crate::domain::policy::AgreementView;
use crate::domain::precondition::etag;
use crate::error::AppError;
use crate::http::extract::body::parse_value;
use crate::http::extract::roles::{AnyRole, IgOfficer, IgOfficerOrHub};
use crate::http::extract::{parse_id, Authorized, Idempotent, IfMatch, JsonBody, OptionalJsonBody};
use crate::http::wire::agreement_out::AgreementOut;
use crate::http::wire::agreements::{AgreementIn, ReasonIn, ResumeIn, SignIn};
use crate::http::wire::check::{CheckIn, CheckOut};
use crate::http::wire::page::{encode_cursor, Page, PageQuery};
use crate::http::wire::replay::{answer, Headers};
use crate::usecase::agreements::{self, Change, ListFilter};
use crate::usecase::idempotency::{Once, Response};
use crate::usecase::policy;
use serde_json::Value;

/// The latest version of the agreement, as it stands at `now`.
fn latest_out(view: &AgreementView, now: DateTime<Utc>) -> Result<AgreementOut, AppError> {
    AgreementOut::latest(view, now).ok_or(AppError::NotFound)
}

/// Shapes the agreement a write leaves, answered with `status`.
fn shaped(
    status: u16,
    now: DateTime<Utc>,
) -> impl FnOnce(&AgreementView) -> Result<(u16, Value), AppError> + Send + 'static {
    move |view| Ok((status, serde_json::to_value(latest_out(view, now)?)?))
}

/// An agreement answer: its `ETag` (the latest version), and `Location` when created.
fn reply(r: Response, created: bool) -> Result<HttpResponse, AppError> {
    let h = Headers {
        location: created.then_some("/api/v1/agreements"),
        etag: true,
    };
    answer(r, h)
}

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let (partnership, terms) = parse_value::<AgreementIn>(&raw)?.parse(None)?;
    let once = key.once(&auth.principal, raw);
    let shape = shaped(201, state.hub.now());
    let p = auth.principal;
    let done = agreements::create(&state.hub, p, partnership, terms, once, shape).await?;
    reply(done.response, true)
}

/// `POST /agreements/{id}/versions`: a new version of the terms, made from the version
/// `If-Match` names (412 if another amendment came first, 428 without the header).
pub async fn amend(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    id: web::Path<String>,
    IfMatch(expected): IfMatch,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let id: AgreementId = parse_id(&id)?;
    let body: AgreementIn = parse_value(&raw)?;
    let terms = move |p| body.parse(Some(p)).map(|(_, t)| t);
    let once = key.once(&auth.principal, raw);
    let shape = shaped(201, state.hub.now());
    let p = auth.principal;
    let done = agreements::amend(&state.hub, p, id, expected, terms, once, shape).await?;
    reply(done.response, false)
}

/// One state change; `created` answers 201 (a signature is a new resource), else 200.
async fn change(
    state: &AppState,
    auth: Authorized<IgOfficer>,
    id: &str,
    change: Change,
    created: bool,
    once: Once,
) -> Result<HttpResponse, AppError> {
    let id: AgreementId = parse_id(id)?;
    let shape = shaped(if created { 201 } else { 200 }, state.hub.now());
    let done = agreements::change(&state.hub, auth.principal, id, change, once, shape).await?;
    reply(done.response, false)
}

/// An optional body as sent (for the idempotency hash) and read as `T`.
fn optional<T: serde::de::DeserializeOwned>(raw: &Option<Value>) -> Result<Option<T>, AppError> {
    raw.as_ref().map(parse_value).transpose()
}

pub async fn sign(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    id: web::Path<String>,
    key: Idempotent,
    OptionalJsonBody(raw): OptionalJsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    // A signature names what it signs: without a version there is nothing to sign.
    let version = optional::<SignIn>(&raw)?
        .and_then(|b| b.version)
        .ok_or_else(|| AppError::validation("/version", "is required: the version you sign"))?;
    let once = key.once(&auth.principal, raw.unwrap_or(Value::Null));
    change(&state, auth, &id, Change::Sign { version }, true, once).await
}

pub async fn suspend(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    id: web::Path<String>,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let reason = parse_value::<ReasonIn>(&raw)?.parse()?;
    let once = key.once(&auth.principal, raw);
    change(&state, auth, &id, Change::Suspend { reason }, false, once).await
}

pub async fn resume(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    id: web::Path<String>,
    key: Idempotent,
    OptionalJsonBody(raw): OptionalJsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let note = optional::<ResumeIn>(&raw)?
        .map(ResumeIn::parse)
        .transpose()?
        .flatten();
    let once = key.once(&auth.principal, raw.unwrap_or(Value::Null));
    change(&state, auth, &id, Change::Resume { note }, false, once).await
}

pub async fn terminate(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    id: web::Path<String>,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let reason = parse_value::<ReasonIn>(&raw)?.parse()?;
    let once = key.once(&auth.principal, raw);
    change(&state, auth, &id, Change::Terminate { reason }, false, once).await
}

#[derive(Debug, Deserialize)]
pub struct GetQuery {
    /// An earlier version to read (default: the latest).
    pub version: Option<String>,
}

pub async fn get(
    state: web::Data<AppState>,
    auth: Authorized<AnyRole>,
    id: web::Path<String>,
    query: web::Query<GetQuery>,
) -> Result<HttpResponse, AppError> {
    let id: AgreementId = parse_id(&id)?;
    let version = query
        .version
        .as_deref()
        .map(|v| {
            v.parse::<i32>()
                .map_err(|_| AppError::BadRequest("version must be a number".into()))
        })
        .transpose()?;
    let now = state.hub.now();
    let view = agreements::get(&state.hub, auth.principal, id).await?;
    let out = match version {
        None => AgreementOut::latest(&view, now),
        Some(n) => view
            .agreement
            .version(n)
            .map(|v| AgreementOut::new(&view, v, now)),
    };
    let out = out.ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, etag(out.version)))
        .json(out))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    /// A party agency.
    pub agency_id: Option<String>,
    pub partnership_id: Option<String>,
    pub status: Option<String>,
    /// Agreements whose review date (also an overdue one) or expiry falls within this many
    /// days.
    pub due_within_days: Option<i64>,
}

pub async fn list(
    state: web::Data<AppState>,
    auth: Authorized<AnyRole>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let paging = PageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
    };
    let limit = paging.limit()?;
    let bad = |m: &str| AppError::BadRequest(m.to_owned());
    let filter = ListFilter {
        party: q
            .agency_id
            .as_deref()
            .map(|a| {
                a.parse::<AgencyId>()
                    .map_err(|_| bad("agency_id must be an agency id"))
            })
            .transpose()?,
        partnership: q
            .partnership_id
            .as_deref()
            .map(|p| {
                p.parse::<PartnershipId>()
                    .map_err(|_| bad("partnership_id must be a partnership id"))
            })
            .transpose()?,
        status: q
            .status
            .as_deref()
            .map(|s| s.parse::<Status>().map_err(|e| bad(&e)))
            .transpose()?,
        due_within_days: match q.due_within_days {
            Some(d) if !(0..=3650).contains(&d) => {
                return Err(bad("due_within_days must be 0 to 3650"))
            }
            d => d,
        },
        after: paging
            .position()?
            .map(|p| p.parse::<AgreementId>().map_err(|_| bad("invalid cursor")))
            .transpose()?,
    };
    let now = state.hub.now();
    let mut views = agreements::find(&state.hub, auth.principal, filter, limit + 1).await?;
    let more = views.len() as i64 > limit;
    views.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        views
            .last()
            .map(|v| encode_cursor(&v.agreement.id.to_string()))
    } else {
        None
    };
    let items = views
        .iter()
        .filter_map(|v| AgreementOut::latest(v, now))
        .collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

pub async fn check(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficerOrHub>,
    JsonBody(body): JsonBody<CheckIn>,
) -> Result<HttpResponse, AppError> {
    let check = body.parse()?;
    let at = check.at.unwrap_or(state.hub.now());
    let (decision, candidates) = policy::check(&state.hub, auth.principal, check).await?;
    Ok(HttpResponse::Ok().json(CheckOut::new(&decision, &candidates, at)))
}
