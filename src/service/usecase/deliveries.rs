//! The operators' view of deliveries (the outbox): listing them and putting one back in the
//! queue. Who sees which is decided here: the hub operator (`hub_admin`) every delivery, an
//! agency's `agency_admin` those addressed to its agency, anyone else none (a delivery they
//! name is a logged 404). The async functions are the use cases, one write intent or one
//! read each.
use super::hub::Hub;
use super::refusal;
use chrono::{DateTime, Utc};

use crate::domain::audit::Actor;
use crate::domain::delivery::{Delivery, DeliveryState};
use crate::domain::ids::{AgencyId, DeliveryId};
use crate::domain::role::Role;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::{outbox, DbConn};
use crate::usecase::idempotency::{self, Done, Once, Shape};

/// The deliveries a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryScope {
    /// Every delivery: the hub operator.
    All,
    /// Those addressed to this agency: its administrator.
    Agency(AgencyId),
    /// None at all.
    Nothing,
}

impl DeliveryScope {
    /// The deliveries `p` may see.
    pub fn of(p: &Principal) -> DeliveryScope {
        if p.has_any(&[Role::HubAdmin]) {
            return DeliveryScope::All;
        }
        match p.agency_id {
            Some(agency) if p.has_any(&[Role::AgencyAdmin]) => DeliveryScope::Agency(agency),
            _ => DeliveryScope::Nothing,
        }
    }

    /// The agency filter of the outbox queries; `None` for nothing to see.
    fn agency(self) -> Option<Option<AgencyId>> {
        match self {
            DeliveryScope::All => Some(None),
            DeliveryScope::Agency(a) => Some(Some(a)),
            DeliveryScope::Nothing => None,
        }
    }
}

/// Which deliveries a listing returns.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only deliveries after this id (the page cursor).
    pub after: Option<DeliveryId>,
    /// Only deliveries in this state.
    pub state: Option<DeliveryState>,
}

/// Delivery `id` if it is within `scope`.
fn get_in(
    conn: &mut DbConn,
    scope: DeliveryScope,
    id: DeliveryId,
) -> Result<Option<Delivery>, AppError> {
    match scope.agency() {
        Some(agency) => outbox::get(conn, agency, id),
        None => Ok(None),
    }
}

/// Puts delivery `id` back in the queue, due now, if it is within `scope`, not yet
/// delivered and not being sent (a worker's lease on it still runs: 409).
fn retry_in(
    conn: &mut DbConn,
    actor: &Actor,
    scope: DeliveryScope,
    id: DeliveryId,
    now: DateTime<Utc>,
) -> Result<Delivery, AppError> {
    let d =
        get_in(conn, scope, id)?.ok_or_else(|| refusal::not_found(actor, "delivery", id, now))?;
    if d.state == DeliveryState::Delivered {
        return Err(AppError::conflict(
            "this delivery has already been delivered",
        ));
    }
    if outbox::in_flight(conn, id, now)? || !outbox::requeue(conn, id, now)? {
        return Err(AppError::conflict(
            "this delivery is being sent now; retry it once the attempt has finished",
        ));
    }
    get_in(conn, scope, id)?.ok_or(AppError::NotFound)
}

/// The deliveries the caller may see that match `filter`, in id order, at most `limit`.
pub async fn find(
    hub: &Hub,
    actor: Principal,
    filter: DeliveryFilter,
    limit: i64,
) -> Result<Vec<Delivery>, AppError> {
    let Some(agency) = DeliveryScope::of(&actor).agency() else {
        return Ok(Vec::new());
    };
    hub.read(move |c| outbox::list(c, agency, filter.state, filter.after, limit))
        .await
}

/// Puts delivery `id` back in the queue (the delivery worker still has to be woken).
pub async fn retry(
    hub: &Hub,
    actor: Principal,
    id: DeliveryId,
    once: Once,
    shape: impl Shape<Delivery>,
) -> Result<Done<Delivery>, AppError> {
    let scope = DeliveryScope::of(&actor);
    let now = hub.now();
    let action = move |c: &mut DbConn| retry_in(c, &Actor::from(&actor), scope, id, now);
    idempotency::write(hub, once, action, shape).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::role::RoleSet;

    fn principal(agency: Option<AgencyId>, roles: &[Role]) -> Principal {
        Principal {
            agency_id: agency,
            issuer: "https://idp.example".into(),
            subject: "s".into(),
            roles: {
                let mut set = RoleSet::empty();
                roles.iter().for_each(|r| set.insert(*r));
                set
            },
            client_id: None,
        }
    }

    #[test]
    fn the_operator_sees_all_an_agency_admin_their_own_anyone_else_nothing() {
        let a = AgencyId::new();
        assert_eq!(
            DeliveryScope::of(&principal(None, &[Role::HubAdmin])),
            DeliveryScope::All
        );
        assert_eq!(
            DeliveryScope::of(&principal(Some(a), &[Role::AgencyAdmin])),
            DeliveryScope::Agency(a)
        );
        assert_eq!(
            DeliveryScope::of(&principal(None, &[Role::AgencyAdmin])),
            DeliveryScope::Nothing
        );
        assert_eq!(
            DeliveryScope::of(&principal(Some(a), &[Role::Practitioner])),
            DeliveryScope::Nothing
        );
    }
}
