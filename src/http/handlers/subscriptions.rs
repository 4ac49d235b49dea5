//! `/subscriptions` (an agency's practitioners and admins) and `/deliveries` (operators and
//! agency admins).
use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::app::AppState;
use crate::delivery::ssrf;
use crate::domain::audit::Actor;
use crate::domain::delivery::DeliveryState;
use crate::domain::ids::{AgencyId, DeliveryId, SubscriptionId};
use crate::domain::subscription::SubscriptionInput;
use crate::error::AppError;
use crate::http::extract::roles::{DeliveryOperator, SubscriptionManager};
use crate::http::extract::{parse_id, Authorized, JsonBody};
use crate::http::wire::page::{page, PageQuery};
use crate::http::wire::subscriptions::{DeliveryOut, SubscriptionOut};
use crate::identity::Principal;
use crate::store::{outbox, subscriptions};
use crate::usecase;

fn rules(state: &AppState) -> ssrf::Rules {
    ssrf::Rules {
        allow_insecure_http: state.settings.delivery.allow_insecure_http,
        allow_private_networks: state.settings.delivery.allow_private_networks,
    }
}

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<SubscriptionManager>,
    JsonBody(body): JsonBody<SubscriptionInput>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let new = body.parse(rules(&state))?;
    if let crate::domain::subscription::Channel::Webhook { url } = &new.channel {
        let parsed = ssrf::check_syntax(url, rules(&state))
            .map_err(|e| AppError::validation("/channel/url", e.to_string()))?;
        ssrf::resolve_checked(&parsed, rules(&state))
            .await
            .map_err(|e| AppError::validation("/channel/url", e.to_string()))?;
    }
    let now = state.clock.now();
    let actor = Actor::from(&auth.principal);
    let sub = state
        .db
        .write(move |c| usecase::subscriptions::create(c, &actor, agency, new, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/subscriptions/{}", sub.id)))
        .json(SubscriptionOut::new(&sub, true)))
}

pub async fn list(
    state: web::Data<AppState>,
    auth: Authorized<SubscriptionManager>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let limit = query.limit()?;
    let after = query.after::<SubscriptionId>()?;
    let rows = state
        .db
        .read(move |c| subscriptions::list(c, Some(agency), after, limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        limit,
        |s| s.id.to_string(),
        |s| SubscriptionOut::new(&s, false),
    )))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: Authorized<SubscriptionManager>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: SubscriptionId = parse_id(&id)?;
    let now = state.clock.now();
    let actor = Actor::from(&auth.principal);
    let sub = state
        .db
        .read(move |c| {
            subscriptions::get(c, agency, id)?
                .ok_or_else(|| usecase::refusal::not_found(&actor, "subscription", id, now))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionOut::new(&sub, false)))
}

pub async fn delete(
    state: web::Data<AppState>,
    auth: Authorized<SubscriptionManager>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let agency = auth.principal.agency()?;
    let id: SubscriptionId = parse_id(&id)?;
    let now = state.clock.now();
    let actor = Actor::from(&auth.principal);
    state
        .db
        .write(move |c| usecase::subscriptions::delete(c, &actor, agency, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
pub struct DeliveryQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    pub state: Option<String>,
}

/// The operator sees every delivery; an agency admin those addressed to its agency.
fn delivery_scope(p: &Principal) -> Option<AgencyId> {
    if p.has_any(&[crate::domain::role::Role::HubAdmin]) {
        None
    } else {
        p.agency_id.or(Some(AgencyId(uuid::Uuid::nil())))
    }
}

pub async fn list_deliveries(
    state: web::Data<AppState>,
    auth: Authorized<DeliveryOperator>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, AppError> {
    let scope = delivery_scope(&auth.principal);
    let paging = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    };
    let limit = paging.limit()?;
    let after = paging.after::<DeliveryId>()?;
    let st = query
        .state
        .as_deref()
        .map(|s| {
            DeliveryState::parse(s)
                .ok_or_else(|| AppError::BadRequest(format!("unknown state `{s}`")))
        })
        .transpose()?;
    let rows = state
        .db
        .read(move |c| outbox::list(c, scope, st, after, limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        limit,
        |d| d.id.to_string(),
        |d| DeliveryOut::from(&d),
    )))
}

pub async fn retry_delivery(
    state: web::Data<AppState>,
    auth: Authorized<DeliveryOperator>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let scope = delivery_scope(&auth.principal);
    let id: DeliveryId = parse_id(&id)?;
    let now = state.clock.now();
    let actor = Actor::from(&auth.principal);
    let d = state
        .db
        .write(move |c| usecase::subscriptions::retry(c, &actor, scope, id, now))
        .await?;
    state.delivery.wake();
    Ok(HttpResponse::Ok().json(DeliveryOut::from(&d)))
}
