//! `/partnerships`: partnerships, their members and their terms of reference. Each handler
//! extracts, makes one `usecase::partnerships` call and shapes the answer.
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::ids::{AgencyId, PartnershipId};
use crate::domain::partnership::{Acceptance, MemberStatus, Terms};
use crate::error::AppError;
use crate::http::extract::body::parse_value;
use crate::http::extract::roles::{AgencyAdmin, AnyAdmin, AnyRole};
use crate::http::extract::{parse_id, Authorized, Idempotent, JsonBody};
use crate::http::wire::page::{page, PageQuery};
use crate::http::wire::partnerships::{
    membership_body, AcceptanceOut, AddMember, CreatePartnership, CreateTerms, PartnershipOut,
    TermsOut,
};
use crate::http::wire::replay::{answer, Headers};
use crate::usecase::partnerships::{self, Answer, ListFilter, PartnershipDetail};
use serde_json::Value;

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<AnyAdmin>,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let new = parse_value::<CreatePartnership>(&raw)?.parse()?;
    let once = key.once(&auth.principal, raw);
    let shape = |p: &_| {
        Ok((
            201,
            serde_json::to_value(PartnershipOut::new(p, None, &[]))?,
        ))
    };
    let done = partnerships::create(&state.hub, auth.principal, new, once, shape).await?;
    let h = Headers {
        location: Some("/api/v1/partnerships"),
        etag: false,
    };
    answer(done.response, h)
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    /// Only partnerships this agency is a member of.
    pub member: Option<String>,
}

pub async fn list(
    state: web::Data<AppState>,
    _auth: Authorized<AnyRole>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    };
    let limit = paging.limit()?;
    let after = paging.after::<PartnershipId>()?;
    let member = query
        .member
        .as_deref()
        .map(|m| {
            m.parse::<AgencyId>()
                .map_err(|_| AppError::BadRequest("member must be an agency id".into()))
        })
        .transpose()?;
    let rows = partnerships::find(&state.hub, ListFilter { after, member }, limit + 1).await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        limit,
        |d| d.partnership.id.to_string(),
        |d| PartnershipOut::from(&d),
    )))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: Authorized<AnyRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: PartnershipId = parse_id(&id)?;
    let d = partnerships::get(&state.hub, auth.principal, id).await?;
    Ok(HttpResponse::Ok().json(PartnershipOut::from(&d)))
}

pub async fn add_member(
    state: web::Data<AppState>,
    auth: Authorized<AnyAdmin>,
    id: web::Path<String>,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let id: PartnershipId = parse_id(&id)?;
    let agency = parse_value::<AddMember>(&raw)?.parse()?;
    let once = key.once(&auth.principal, raw);
    let shape = move |d: &PartnershipDetail| {
        let status = d
            .partnership
            .status_of(agency)
            .map_or("invited", MemberStatus::as_str);
        let body = membership_body(PartnershipOut::from(d), agency, status);
        Ok((201, serde_json::to_value(body)?))
    };
    let done =
        partnerships::add_member(&state.hub, auth.principal, id, agency, once, shape).await?;
    answer(done.response, Headers::default())
}

/// `POST /partnerships/{id}/members/{agency_id}/acceptance`: the invited agency's own
/// `agency_admin` accepts; 200 with `status: member` (again: the same answer).
pub async fn accept_membership(
    state: web::Data<AppState>,
    auth: Authorized<AgencyAdmin>,
    path: web::Path<(String, String)>,
    key: Idempotent,
) -> Result<HttpResponse, AppError> {
    answer_membership(state, auth, path, key, Answer::Accept).await
}

/// `POST /partnerships/{id}/members/{agency_id}/decline`: the invited agency's own
/// `agency_admin` declines; the invitation is removed (200 with `status: declined`).
pub async fn decline_membership(
    state: web::Data<AppState>,
    auth: Authorized<AgencyAdmin>,
    path: web::Path<(String, String)>,
    key: Idempotent,
) -> Result<HttpResponse, AppError> {
    answer_membership(state, auth, path, key, Answer::Decline).await
}

/// An invited agency's answer, and the membership it leaves.
/// The answer of a membership change (`answer` is the membership answer there).
fn answer_with(r: crate::usecase::idempotency::Response) -> Result<HttpResponse, AppError> {
    answer(r, Headers::default())
}

async fn answer_membership(
    state: web::Data<AppState>,
    auth: Authorized<AgencyAdmin>,
    path: web::Path<(String, String)>,
    key: Idempotent,
    answer: Answer,
) -> Result<HttpResponse, AppError> {
    let (id, agency) = path.into_inner();
    let id: PartnershipId = parse_id(&id)?;
    let agency: AgencyId = parse_id(&agency)?;
    let status = match answer {
        Answer::Accept => MemberStatus::Member.as_str(),
        Answer::Decline => "declined",
    };
    let once = key.once(&auth.principal, Value::Null);
    let shape = move |(d, _): &(PartnershipDetail, bool)| {
        let body = membership_body(PartnershipOut::from(d), agency, status);
        Ok((200, serde_json::to_value(body)?))
    };
    let p = auth.principal;
    let done = partnerships::answer(&state.hub, p, id, agency, answer, once, shape).await?;
    answer_with(done.response)
}

pub async fn publish_terms(
    state: web::Data<AppState>,
    auth: Authorized<AnyAdmin>,
    id: web::Path<String>,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let id: PartnershipId = parse_id(&id)?;
    let body: CreateTerms = parse_value(&raw)?;
    let content = move |today| body.parse(today);
    let once = key.once(&auth.principal, raw);
    let shape = |t: &Terms| Ok((201, serde_json::to_value(TermsOut::new(t, &[], t.version))?));
    let p = auth.principal;
    let done = partnerships::publish_terms(&state.hub, p, id, content, once, shape).await?;
    let version = done.response.body.get("version").and_then(Value::as_i64);
    let mut resp = answer(done.response, Headers::default())?;
    if let Some(v) = version {
        let location = format!("/api/v1/partnerships/{id}/terms/{v}");
        if let Ok(l) = actix_web::http::header::HeaderValue::from_str(&location) {
            resp.headers_mut().insert(LOCATION, l);
        }
    }
    Ok(resp)
}

fn version_of(raw: &str) -> Result<i32, AppError> {
    raw.parse::<i32>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or(AppError::NotFound)
}

pub async fn get_terms(
    state: web::Data<AppState>,
    auth: Authorized<AnyRole>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, version) = path.into_inner();
    let id: PartnershipId = parse_id(&id)?;
    let version = version_of(&version)?;
    let (t, acceptances, latest) =
        partnerships::get_terms(&state.hub, auth.principal, id, version).await?;
    Ok(HttpResponse::Ok().json(TermsOut::new(&t, &acceptances, latest)))
}

pub async fn accept_terms(
    state: web::Data<AppState>,
    auth: Authorized<AgencyAdmin>,
    path: web::Path<(String, String)>,
    key: Idempotent,
) -> Result<HttpResponse, AppError> {
    let (id, version) = path.into_inner();
    let id: PartnershipId = parse_id(&id)?;
    let version = version_of(&version)?;
    let once = key.once(&auth.principal, Value::Null);
    let shape = |(a, created): &(Acceptance, bool)| {
        let status = if *created { 201 } else { 200 };
        Ok((status, serde_json::to_value(AcceptanceOut::from(a))?))
    };
    let p = auth.principal;
    let done = partnerships::accept_terms(&state.hub, p, id, version, once, shape).await?;
    answer(done.response, Headers::default())
}
