//! `/agreements`: drafting, amending, signing, suspending, resuming and terminating
//! data-sharing agreements, listing them, and the policy dry run.
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::agreement::{Agreement, Status};
use crate::domain::audit::Actor;
use crate::domain::ids::{AgencyId, AgreementId, PartnershipId};
use crate::domain::policy::AgreementView;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::http::extract::roles::{AnyRole, IgOfficer, IgOfficerOrHub};
use crate::http::extract::{parse_id, Authorized, JsonBody, OptionalJsonBody};
use crate::http::wire::agreement_out::AgreementOut;
use crate::http::wire::agreements::{AgreementIn, ReasonIn, ResumeIn, SignIn};
use crate::http::wire::check::{CheckIn, CheckOut};
use crate::http::wire::page::{encode_cursor, Page, PageQuery};
use crate::store::{agencies, agreements, DbConn};
use crate::usecase;
use crate::usecase::agreements::ListFilter;

/// The latest version of the agreement in `views` (one view), as it stands at `now`.
fn latest_out(views: Vec<AgreementView>, now: DateTime<Utc>) -> Result<AgreementOut, AppError> {
    views
        .first()
        .and_then(|v| AgreementOut::latest(v, now))
        .ok_or(AppError::NotFound)
}

/// With its partnership's terms history, for the answer.
fn viewed(c: &mut DbConn, a: Agreement) -> Result<Vec<AgreementView>, AppError> {
    agreements::with_terms(c, vec![a])
}

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    JsonBody(body): JsonBody<AgreementIn>,
) -> Result<HttpResponse, AppError> {
    let (partnership, terms) = body.parse(None)?;
    let now = state.clock.now();
    let actor = auth.principal;
    let views = state
        .db
        .write(move |c| {
            let a = usecase::agreements::create(c, &actor, partnership, terms, now)?;
            viewed(c, a)
        })
        .await?;
    let out = latest_out(views, now)?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/agreements/{}", out.id)))
        .json(out))
}

pub async fn amend(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    id: web::Path<String>,
    JsonBody(body): JsonBody<AgreementIn>,
) -> Result<HttpResponse, AppError> {
    let id: AgreementId = parse_id(&id)?;
    let now = state.clock.now();
    let actor = auth.principal;
    let views = state
        .db
        .write(move |c| {
            let terms = |p| body.parse(Some(p)).map(|(_, t)| t);
            let a = usecase::agreements::amend(c, &actor, id, terms, now)?;
            viewed(c, a)
        })
        .await?;
    Ok(HttpResponse::Created().json(latest_out(views, now)?))
}

pub async fn sign(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    id: web::Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<SignIn>,
) -> Result<HttpResponse, AppError> {
    let id: AgreementId = parse_id(&id)?;
    let expected = body.and_then(|b| b.version);
    let now = state.clock.now();
    let actor = auth.principal;
    let views = state
        .db
        .write(move |c| {
            let a = usecase::agreements::sign(c, &actor, id, expected, now)?;
            viewed(c, a)
        })
        .await?;
    Ok(HttpResponse::Created().json(latest_out(views, now)?))
}

pub async fn suspend(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    id: web::Path<String>,
    JsonBody(body): JsonBody<ReasonIn>,
) -> Result<HttpResponse, AppError> {
    let id: AgreementId = parse_id(&id)?;
    let reason = body.parse()?;
    let now = state.clock.now();
    let actor = auth.principal;
    let views = state
        .db
        .write(move |c| {
            let a = usecase::agreements::suspend(c, &actor, id, reason, now)?;
            viewed(c, a)
        })
        .await?;
    Ok(HttpResponse::Ok().json(latest_out(views, now)?))
}

pub async fn resume(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    id: web::Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<ResumeIn>,
) -> Result<HttpResponse, AppError> {
    let id: AgreementId = parse_id(&id)?;
    let note = body.map(ResumeIn::parse).transpose()?.flatten();
    let now = state.clock.now();
    let actor = auth.principal;
    let views = state
        .db
        .write(move |c| {
            let a = usecase::agreements::resume(c, &actor, id, note, now)?;
            viewed(c, a)
        })
        .await?;
    Ok(HttpResponse::Ok().json(latest_out(views, now)?))
}

pub async fn terminate(
    state: web::Data<AppState>,
    auth: Authorized<IgOfficer>,
    id: web::Path<String>,
    JsonBody(body): JsonBody<ReasonIn>,
) -> Result<HttpResponse, AppError> {
    let id: AgreementId = parse_id(&id)?;
    let reason = body.parse()?;
    let now = state.clock.now();
    let actor = auth.principal;
    let views = state
        .db
        .write(move |c| {
            let a = usecase::agreements::terminate(c, &actor, id, reason, now)?;
            viewed(c, a)
        })
        .await?;
    Ok(HttpResponse::Ok().json(latest_out(views, now)?))
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
    let now = state.clock.now();
    let actor = auth.principal;
    let view = state
        .db
        .read(move |c| usecase::agreements::get(c, &actor, id, now))
        .await?;
    let out = match version {
        None => AgreementOut::latest(&view, now),
        Some(n) => view
            .agreement
            .version(n)
            .map(|v| AgreementOut::new(&view, v, now)),
    };
    Ok(HttpResponse::Ok().json(out.ok_or(AppError::NotFound)?))
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
    let now = state.clock.now();
    let actor = auth.principal;
    let mut views = state
        .db
        .read(move |c| usecase::agreements::list(c, &actor, &filter, now, limit + 1))
        .await?;
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
    let now = state.clock.now();
    let at = check.at.unwrap_or(now);
    let p = auth.principal;
    let (decision, candidates) = state
        .db
        .read(move |c| {
            let hub = p.has_any(&[Role::HubAdmin, Role::HubAuditor]);
            let own = p.acts_for(check.discloser) || p.acts_for(check.recipient);
            if !(hub || own) {
                return Err(usecase::refusal::forbidden(
                    &Actor::from(&p),
                    "disclosure_check",
                    format!("{}->{}", check.discloser, check.recipient),
                    now,
                    "an IG officer checks disclosures from or to their own agency",
                ));
            }
            let mut e = crate::domain::validate::Errors::new();
            if agencies::get(c, check.discloser)?.is_none() {
                e.add("/discloser_agency_id", "no such agency");
            }
            if agencies::get(c, check.recipient)?.is_none() {
                e.add("/recipient_agency_id", "no such agency");
            }
            e.finish()?;
            usecase::policy::explain(c, &check.request(now))
        })
        .await?;
    Ok(HttpResponse::Ok().json(CheckOut::new(&decision, &candidates, at)))
}
