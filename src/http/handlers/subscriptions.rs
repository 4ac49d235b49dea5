//! `/subscriptions` (an agency's practitioners and admins) and `/deliveries` (operators and
//! agency admins). Each handler extracts, makes one `usecase::subscriptions` or
//! `usecase::deliveries` call and shapes the answer.
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::delivery::DeliveryState;
use crate::domain::ids::{DeliveryId, SubscriptionId};
use crate::domain::subscription::SubscriptionInput;
use crate::error::AppError;
use crate::http::extract::body::parse_value;
use crate::http::extract::roles::{DeliveryOperator, SubscriptionManager};
use crate::http::extract::{parse_id, Authorized, Idempotent, JsonBody};
use crate::http::wire::page::{page, PageQuery};
use crate::http::wire::replay::{answer, Headers};
use crate::http::wire::subscriptions::{DeliveryOut, SubscriptionOut};
use crate::usecase::deliveries::{self, DeliveryFilter};
use crate::usecase::subscriptions;
use serde_json::Value;

pub async fn create(
    state: web::Data<AppState>,
    auth: Authorized<SubscriptionManager>,
    key: Idempotent,
    JsonBody(raw): JsonBody<Value>,
) -> Result<HttpResponse, AppError> {
    let body: SubscriptionInput = parse_value(&raw)?;
    let once = key.once(&auth.principal, raw);
    // The secret is shown once, in the first answer, and never recorded: a replay answers
    // the subscription without it.
    let shape = |s: &_| Ok((201, serde_json::to_value(SubscriptionOut::new(s, false))?));
    let done = subscriptions::create(&state.hub, auth.principal, body, once, shape).await?;
    let mut r = done.response;
    if let Some(sub) = &done.made {
        r.body = serde_json::to_value(SubscriptionOut::new(sub, true))?;
    }
    let h = Headers {
        location: Some("/api/v1/subscriptions"),
        etag: false,
    };
    answer(r, h)
}

pub async fn list(
    state: web::Data<AppState>,
    auth: Authorized<SubscriptionManager>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = query.limit()?;
    let after = query.after::<SubscriptionId>()?;
    let rows = subscriptions::find(&state.hub, auth.principal, after, limit + 1).await?;
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
    let id: SubscriptionId = parse_id(&id)?;
    let sub = subscriptions::get(&state.hub, auth.principal, id).await?;
    Ok(HttpResponse::Ok().json(SubscriptionOut::new(&sub, false)))
}

pub async fn delete(
    state: web::Data<AppState>,
    auth: Authorized<SubscriptionManager>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: SubscriptionId = parse_id(&id)?;
    subscriptions::delete(&state.hub, auth.principal, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
pub struct DeliveryQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    pub state: Option<String>,
}

pub async fn list_deliveries(
    state: web::Data<AppState>,
    auth: Authorized<DeliveryOperator>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, AppError> {
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
    let filter = DeliveryFilter { after, state: st };
    let rows = deliveries::find(&state.hub, auth.principal, filter, limit + 1).await?;
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
    key: Idempotent,
) -> Result<HttpResponse, AppError> {
    let id: DeliveryId = parse_id(&id)?;
    let once = key.once(&auth.principal, Value::Null);
    let shape = |d: &_| Ok((200, serde_json::to_value(DeliveryOut::from(d))?));
    let done = deliveries::retry(&state.hub, auth.principal, id, once, shape).await?;
    state.delivery.wake();
    answer(done.response, Headers::default())
}
