//! Reading the agency directory: every hub member lists the partner agencies and reads any
//! one of them (an unknown agency is a logged 404), and a caller learns which agency they act
//! for. Each use case is one read.
use crate::domain::agency::{Agency, AgencyKind};
use crate::domain::audit::Actor;
use crate::domain::ids::AgencyId;
use crate::error::AppError;
use crate::identity::Principal;
use crate::service::store::agencies;
use crate::usecase::hub::Hub;
use crate::usecase::refusal;

/// Which agencies a directory listing returns.
#[derive(Debug, Clone, Default)]
pub struct AgencyFilter {
    /// Only agencies after this id (the page cursor).
    pub after: Option<AgencyId>,
    /// Only agencies of this kind.
    pub kind: Option<AgencyKind>,
}

/// The agencies that match `filter`, in id order, at most `limit`.
pub async fn find(hub: &Hub, filter: AgencyFilter, limit: i64) -> Result<Vec<Agency>, AppError> {
    hub.read(move |c| agencies::list(c, filter.after, filter.kind, limit))
        .await
}

/// Agency `id`; an unknown one is a logged 404.
pub async fn get(hub: &Hub, actor: Principal, id: AgencyId) -> Result<Agency, AppError> {
    let now = hub.now();
    hub.read(move |c| {
        agencies::get(c, id)?
            .ok_or_else(|| refusal::not_found(&Actor::from(&actor), "agency", id, now))
    })
    .await
}

/// The agency `caller` acts for, if any (and if it is still registered).
pub async fn own_agency(hub: &Hub, caller: &Principal) -> Result<Option<Agency>, AppError> {
    match caller.agency_id {
        Some(id) => hub.read(move |c| agencies::get(c, id)).await,
        None => Ok(None),
    }
}

/// Every registered agency's name by id (the directory every hub member reads), so pages
/// show agencies by name.
pub async fn names(hub: &Hub) -> Result<std::collections::BTreeMap<AgencyId, String>, AppError> {
    hub.read(move |c| {
        let all = agencies::list(c, None, None, i64::MAX)?;
        Ok(all.into_iter().map(|a| (a.id, a.name)).collect())
    })
    .await
}
