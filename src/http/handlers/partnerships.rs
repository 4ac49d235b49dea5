//! `/partnerships`: partnerships, their members and their terms of reference. Each handler
//! extracts, makes one `usecase::partnerships` call and shapes the answer.
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::ids::{AgencyId, PartnershipId};
use crate::domain::partnership::MemberStatus;
use crate::error::AppError;
use crate::http::extract::roles::{AgencyAdmin, AnyAdmin, AnyRole};
use crate::http::extract::{parse_id, Authorized, JsonBody};
use crate::http::wire::page::{page, PageQuery};
use crate::http::wire::partnerships::{
    membership_body, AcceptanceOut, AddMember, CreatePartnership, CreateTerms, PartnershipOut,
    TermsOut,
};
use crate::usecase::partnerships::{self, Answer, ListFilter};

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<AnyAdmin>,
    JsonBody(body): JsonBody<CreatePartnership>,
) -> Result<HttpResponse, AppError> {
    let new = body.parse()?;
    let p = partnerships::create(&state.hub, auth.principal, new).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/partnerships/{}", p.id)))
        .json(PartnershipOut::new(&p, None, &[])))
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
    JsonBody(body): JsonBody<AddMember>,
) -> Result<HttpResponse, AppError> {
    let id: PartnershipId = parse_id(&id)?;
    let agency = body.parse()?;
    let d = partnerships::add_member(&state.hub, auth.principal, id, agency).await?;
    let status = d
        .partnership
        .status_of(agency)
        .map_or("invited", MemberStatus::as_str);
    Ok(HttpResponse::Created().json(membership_body(PartnershipOut::from(&d), agency, status)))
}

/// `POST /partnerships/{id}/members/{agency_id}/acceptance`: the invited agency's own
/// `agency_admin` accepts; 200 with `status: member` (again: the same answer).
pub async fn accept_membership(
    state: web::Data<AppState>,
    auth: Authorized<AgencyAdmin>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    answer_membership(state, auth, path, Answer::Accept).await
}

/// `POST /partnerships/{id}/members/{agency_id}/decline`: the invited agency's own
/// `agency_admin` declines; the invitation is removed (200 with `status: declined`).
pub async fn decline_membership(
    state: web::Data<AppState>,
    auth: Authorized<AgencyAdmin>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    answer_membership(state, auth, path, Answer::Decline).await
}

/// An invited agency's answer, and the membership it leaves.
async fn answer_membership(
    state: web::Data<AppState>,
    auth: Authorized<AgencyAdmin>,
    path: web::Path<(String, String)>,
    answer: Answer,
) -> Result<HttpResponse, AppError> {
    let (id, agency) = path.into_inner();
    let id: PartnershipId = parse_id(&id)?;
    let agency: AgencyId = parse_id(&agency)?;
    let status = match answer {
        Answer::Accept => MemberStatus::Member.as_str(),
        Answer::Decline => "declined",
    };
    let (d, _) = partnerships::answer(&state.hub, auth.principal, id, agency, answer).await?;
    Ok(HttpResponse::Ok().json(membership_body(PartnershipOut::from(&d), agency, status)))
}

pub async fn publish_terms(
    state: web::Data<AppState>,
    auth: Authorized<AnyAdmin>,
    id: web::Path<String>,
    JsonBody(body): JsonBody<CreateTerms>,
) -> Result<HttpResponse, AppError> {
    let id: PartnershipId = parse_id(&id)?;
    let content = move |today| body.parse(today);
    let t = partnerships::publish_terms(&state.hub, auth.principal, id, content).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/api/v1/partnerships/{id}/terms/{}", t.version),
        ))
        .json(TermsOut::new(&t, &[], t.version)))
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
) -> Result<HttpResponse, AppError> {
    let (id, version) = path.into_inner();
    let id: PartnershipId = parse_id(&id)?;
    let version = version_of(&version)?;
    let (a, created) = partnerships::accept_terms(&state.hub, auth.principal, id, version).await?;
    let body = AcceptanceOut::from(&a);
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}
