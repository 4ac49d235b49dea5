//! `/agencies`: the directory of partner agencies and their identity providers. Reads go
//! through `usecase::directory`, changes through `usecase::agencies`; the operator-issuer
//! rule and the issuer registry's invalidation stay here, with the authenticator.
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::agency::{
    AgencyKind, ConsoleClientInput, IdentityProvider, IdentityProviderInput,
};
use crate::domain::ids::AgencyId;
use crate::error::AppError;
use crate::http::extract::body::parse_value;
use crate::http::extract::roles::{AnyAdmin, AnyRole, HubAdmin};
use crate::http::extract::{parse_id, Authorized, Idempotent, JsonBody};
use crate::http::wire::agencies::{
    AgencyOut, CreateAgency, IdentityProviderOut, PatchAgency, PutIdentityProvider,
};
use crate::http::wire::page::{page, PageQuery};
use crate::http::wire::replay::{answer, Headers};
use crate::usecase::agencies;
use crate::usecase::directory::{self, AgencyFilter};

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<HubAdmin>,
    key: Idempotent,
    JsonBody(raw): JsonBody<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let new = parse_value::<CreateAgency>(&raw)?.parse()?;
    let once = key.once(&auth.principal, raw);
    let shape = |a: &_| Ok((201, serde_json::to_value(AgencyOut::from(a))?));
    let done = agencies::register(&state.hub, auth.principal, new, once, shape).await?;
    let h = Headers {
        location: Some("/api/v1/agencies"),
        etag: false,
    };
    answer(done.response, h)
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    pub kind: Option<String>,
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
    let after = paging.after::<AgencyId>()?;
    let kind = query
        .kind
        .as_deref()
        .map(|k| k.parse::<AgencyKind>().map_err(AppError::BadRequest))
        .transpose()?;
    let rows = directory::find(&state.hub, AgencyFilter { after, kind }, limit + 1).await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        limit,
        |a| a.id.to_string(),
        |a| AgencyOut::from(&a),
    )))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: Authorized<AnyRole>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: AgencyId = parse_id(&id)?;
    let agency = directory::get(&state.hub, auth.principal, id).await?;
    Ok(HttpResponse::Ok().json(AgencyOut::from(&agency)))
}

pub async fn patch(
    state: web::Data<AppState>,
    auth: Authorized<AnyAdmin>,
    id: web::Path<String>,
    JsonBody(body): JsonBody<PatchAgency>,
) -> Result<HttpResponse, AppError> {
    let id: AgencyId = parse_id(&id)?;
    let patch = body.parse()?;
    let agency = agencies::update(&state.hub, auth.principal, id, patch).await?;
    Ok(HttpResponse::Ok().json(AgencyOut::from(&agency)))
}

pub async fn put_identity_provider(
    state: web::Data<AppState>,
    auth: Authorized<HubAdmin>,
    id: web::Path<String>,
    JsonBody(body): JsonBody<PutIdentityProvider>,
) -> Result<HttpResponse, AppError> {
    let id: AgencyId = parse_id(&id)?;
    let provider = IdentityProvider::parse(
        id,
        IdentityProviderInput {
            issuer: body.issuer.as_deref(),
            audience: body.audience.as_deref(),
            roles_claim: body.roles_claim.as_deref(),
            role_map: body.role_map.as_ref(),
            accept_jwt_typ: body.accept_jwt_typ,
            console: body.console.as_ref().map(|c| ConsoleClientInput {
                client_id: c.client_id.as_deref(),
                client_secret: c.client_secret.as_deref(),
                redirect_uri: c.redirect_uri.as_deref(),
            }),
        },
        state.hub.settings().identity.allow_http_issuers,
        false,
    )?;
    if state.auth.registry.is_operator_issuer(&provider.issuer) {
        return Err(AppError::validation(
            "/issuer",
            "this issuer belongs to the hub operator",
        ));
    }
    let saved = agencies::set_identity_provider(&state.hub, auth.principal, provider).await?;
    state.auth.registry.invalidate_agency(id);
    Ok(HttpResponse::Ok().json(IdentityProviderOut::from(&saved)))
}
