//! Providers, services with their contracts, and capacity exceptions. Commissioners record
//! their own agency's contracts only; a capacity exception is recorded by the service's
//! commissioner or by the provider's own agency. Each change is a `governance` entry.
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{PROVIDER, SERVICE};
use crate::audit;
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::support::capacity::{limit, CapacityException};
use crate::domain::support::input::{
    ExceptionInput, NewException, Provider, ProviderInput, Service, ServiceInput,
};
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{agencies, support, DbConn};
use crate::usecase::hub::Hub;
use crate::usecase::idempotency::{self, Done, Keyed, Once, Response, Shape};
use crate::usecase::refusal;

/// A service as its commissioner sees it, with its load now.
#[derive(Debug, Clone)]
pub struct ServiceView {
    pub service: Service,
    pub provider: Provider,
    pub occupied: u32,
    pub limit: u32,
    pub exceptions: Vec<CapacityException>,
}

/// `POST /support/providers`: a commissioner registers a provider, once per
/// `Idempotency-Key`.
pub async fn create_provider(
    hub: &Hub,
    p: Principal,
    request: Keyed,
    input: ProviderInput,
    shape: fn(&Provider) -> Value,
) -> Result<Response, AppError> {
    let now = hub.now();
    let agency = p.agency()?;
    let provider = input.parse(agency, now)?;
    hub.write(move |c| {
        let key = request.key.as_deref();
        idempotency::run(
            c,
            &agency.into(),
            key,
            "POST /support/providers",
            &request.body,
            now,
            |c| {
                let v = create_provider_in(c, &p, provider, now)?;
                Ok((201, shape(&v)))
            },
        )
    })
    .await
}

/// Stores `provider` with its `governance` entry, in the caller's transaction.
pub(crate) fn create_provider_in(
    c: &mut DbConn,
    p: &Principal,
    provider: Provider,
    now: DateTime<Utc>,
) -> Result<Provider, AppError> {
    if let Some(a) = provider.agency_id {
        if agencies::get(c, a)?.is_none() {
            return Err(AppError::validation("/agency_id", "no such agency"));
        }
    }
    support::insert_provider(c, &provider)?;
    let entry = NewEntry::new(Operation::Governance, Actor::from(p), now)
        .record(PROVIDER, provider.id)
        .concerns(provider.agency_id.into_iter().collect())
        .justification(format!(
            "support provider `{}` registered by agency {}",
            provider.name, provider.registered_by
        ));
    audit::append(c, &entry)?;
    Ok(provider)
}

/// `POST /support/services`: a commissioner records a service their agency funds, with its
/// contract, once per `Idempotency-Key`. A contract of another agency is a logged 403.
pub async fn create_service(
    hub: &Hub,
    p: Principal,
    request: Keyed,
    input: ServiceInput,
    shape: fn(&Service) -> Value,
) -> Result<Response, AppError> {
    let now = hub.now();
    let agency = p.agency()?;
    let service = input.parse(now)?;
    hub.write(move |c| {
        let key = request.key.as_deref();
        idempotency::run(
            c,
            &agency.into(),
            key,
            "POST /support/services",
            &request.body,
            now,
            |c| {
                let v = create_service_in(c, &p, service, now)?;
                Ok((201, shape(&v)))
            },
        )
    })
    .await
}

/// Stores `service` and its contract with the `governance` entry, in the caller's
/// transaction.
pub(crate) fn create_service_in(
    c: &mut DbConn,
    p: &Principal,
    service: Service,
    now: DateTime<Utc>,
) -> Result<Service, AppError> {
    let actor = Actor::from(p);
    if !p.acts_for(service.contract.commissioner) {
        return Err(refusal::forbidden(
            &actor,
            SERVICE,
            service.id,
            now,
            "a commissioner records the contracts of their own agency only",
        ));
    }
    if support::provider(c, service.provider_id)?.is_none() {
        return Err(AppError::validation("/provider_id", "no such provider"));
    }
    support::insert_service(c, &service)?;
    let entry = NewEntry::new(Operation::Governance, actor, now)
        .record(SERVICE, service.id)
        .justification(format!(
            "service `{}` ({}) under contract {} ({}, value {}) recorded",
            service.name,
            service.kind,
            service.contract.id,
            service.contract.funding_stream,
            service.contract.value
        ));
    audit::append(c, &entry)?;
    Ok(service)
}

/// `GET /support/services/{id}`: the service, its contract and load, to its commissioner;
/// anyone else gets a logged 404.
pub async fn read_service(hub: &Hub, p: Principal, id: Uuid) -> Result<ServiceView, AppError> {
    let now = hub.now();
    let view = hub
        .snapshot(move |c| {
            let actor = Actor::from(&p);
            let Some(service) = support::service(c, id)? else {
                return Err(refusal::not_found(&actor, SERVICE, id, now));
            };
            if !p.acts_for(service.contract.commissioner) {
                return Err(refusal::not_found(&actor, SERVICE, id, now));
            }
            let provider = support::provider(c, service.provider_id)?
                .ok_or_else(|| AppError::internal("a service without its provider"))?;
            let exceptions = support::exceptions(c, id)?;
            Ok(ServiceView {
                occupied: support::occupied(c, id, now)?,
                limit: limit(service.places, &exceptions, now),
                exceptions,
                service,
                provider,
            })
        })
        .await?;
    Ok(view)
}

/// `POST /support/services/{id}/capacity-exceptions`: extra places for a time, recorded by
/// the provider's own agency or the service's commissioner; anyone else gets a logged 404.
pub async fn record_exception(
    hub: &Hub,
    p: Principal,
    id: Uuid,
    input: ExceptionInput,
    once: Once,
    shape: impl Shape<(Uuid, NewException)>,
) -> Result<Done<(Uuid, NewException)>, AppError> {
    let now = hub.now();
    let agency = p.agency()?;
    let x = input.parse(now)?;
    let action = move |c: &mut DbConn| {
        let actor = Actor::from(&p);
        let Some(service) = support::service(c, id)? else {
            return Err(refusal::not_found(&actor, SERVICE, id, now));
        };
        let provider = support::provider(c, service.provider_id)?
            .ok_or_else(|| AppError::internal("a service without its provider"))?;
        if service.contract.commissioner != agency && provider.agency_id != Some(agency) {
            return Err(refusal::not_found(&actor, SERVICE, id, now));
        }
        let eid = support::insert_exception(c, id, &x, agency, &p.subject, now)?;
        let entry = NewEntry::new(Operation::Governance, actor, now)
            .record(SERVICE, id)
            .justification(format!(
                "capacity exception {eid}: {} more place(s) from {}{} ({})",
                x.extra_places,
                x.starts_at,
                x.ends_at.map(|e| format!(" to {e}")).unwrap_or_default(),
                x.reason
            ));
        audit::append(c, &entry)?;
        Ok((eid, x))
    };
    idempotency::write(hub, once, action, shape).await
}

/// `GET /support/services`: the services under the caller's agency's contracts, with their
/// load now (a commissioner sees no other agency's).
pub async fn list_services(hub: &Hub, p: Principal) -> Result<Vec<ServiceView>, AppError> {
    let now = hub.now();
    let agency = p.agency()?;
    hub.snapshot(move |c| {
        let mut out = Vec::new();
        for service in support::commissioned_by(c, agency)? {
            let provider = support::provider(c, service.provider_id)?
                .ok_or_else(|| AppError::internal("a service without its provider"))?;
            let exceptions = support::exceptions(c, service.id)?;
            out.push(ServiceView {
                occupied: support::occupied(c, service.id, now)?,
                limit: limit(service.places, &exceptions, now),
                exceptions,
                service,
                provider,
            });
        }
        Ok(out)
    })
    .await
}
