//! Planning a record's routing before its write, and the writes every plan leads to.
//!
//! Load: in one read snapshot on a reader connection, the policy epoch, the statutory
//! recipients for the area, the active subscriptions and the discloser's agreement views. A
//! subscriber is a candidate only where it is a party to an agreement with the discloser.
//! They come from a cache kept per epoch (every governance change moves the epoch, so a
//! cached answer is never older than the epoch it is filed under). Then the pure
//! `domain::routing::plan` decides each candidate. The apply step, inside the write, holds the
//! epoch and refuses a plan made on an older one ([`AppError::StalePlan`]); the use case plans
//! again. Gathering the notifications and outbox rows a plan leads to ([`Told`]) is shared
//! here.
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::domain::agency::{AgencyKind, GssCode};
use crate::domain::delivery::{Delivery, DeliveryState};
use crate::domain::ids::{AgencyId, DeliveryId};
use crate::domain::msht::EventType;
use crate::domain::notification::Notification;
use crate::domain::policy::AgreementView;
use crate::domain::routing::plan::{self, Ask, Inputs, Outcome};
use crate::domain::routing::Route;
use crate::domain::subscription::{Channel, Facets, Subscription};
use crate::error::AppError;
use crate::service::store::{
    agencies, agreements, epoch, notifications, outbox, subscriptions, DbConn,
};

/// How often a use case plans again when governance changed under it.
const PLAN_ATTEMPTS: usize = 4;

/// Runs `attempt` (plan on a reader, then apply in a write that checks the epoch) until it is
/// not refused as stale, at most [`PLAN_ATTEMPTS`] times; then the caller gets a 503.
pub async fn until_fresh<T, F, Fut>(mut attempt: F) -> Result<T, AppError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    for _ in 0..PLAN_ATTEMPTS {
        match attempt().await {
            Err(AppError::StalePlan) => continue,
            done => return done,
        }
    }
    Err(AppError::StalePlan)
}

/// What the cache holds for one epoch.
#[derive(Default)]
struct Cached {
    epoch: i64,
    covering: HashMap<(GssCode, AgencyKind), Arc<Vec<AgencyId>>>,
    subscriptions: Option<Arc<Vec<Subscription>>>,
    views: HashMap<AgencyId, Arc<Vec<AgreementView>>>,
}

/// Routing inputs cached per policy epoch, shared by every request of the process.
#[derive(Default, Clone)]
pub struct PlanCache(Arc<Mutex<Cached>>);

impl PlanCache {
    fn with<T>(&self, epoch: i64, f: impl FnOnce(&mut Cached) -> T) -> T {
        let mut c = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if c.epoch != epoch {
            *c = Cached {
                epoch,
                ..Cached::default()
            };
        }
        f(&mut c)
    }

    fn covering(
        &self,
        conn: &mut DbConn,
        epoch: i64,
        area: &GssCode,
        kind: AgencyKind,
    ) -> Result<Arc<Vec<AgencyId>>, AppError> {
        let key = (area.clone(), kind);
        if let Some(hit) = self.with(epoch, |c| c.covering.get(&key).cloned()) {
            return Ok(hit);
        }
        let ids = Arc::new(agencies::covering_area(conn, area, kind)?);
        self.with(epoch, |c| c.covering.insert(key, ids.clone()));
        Ok(ids)
    }

    fn subscriptions(
        &self,
        conn: &mut DbConn,
        epoch: i64,
    ) -> Result<Arc<Vec<Subscription>>, AppError> {
        if let Some(hit) = self.with(epoch, |c| c.subscriptions.clone()) {
            return Ok(hit);
        }
        let subs = Arc::new(subscriptions::all_active(conn)?);
        self.with(epoch, |c| c.subscriptions = Some(subs.clone()));
        Ok(subs)
    }

    fn views(
        &self,
        conn: &mut DbConn,
        epoch: i64,
        agency: AgencyId,
    ) -> Result<Arc<Vec<AgreementView>>, AppError> {
        if let Some(hit) = self.with(epoch, |c| c.views.get(&agency).cloned()) {
            return Ok(hit);
        }
        let views = Arc::new(agreements::views_of(conn, agency)?);
        self.with(epoch, |c| c.views.insert(agency, views.clone()));
        Ok(views)
    }
}

/// The policy epoch and the agreements between `discloser` and `recipient`, read in the
/// caller's snapshot through the cache (for a decision outside routing: a notification read).
pub fn views_between(
    conn: &mut DbConn,
    cache: &PlanCache,
    discloser: AgencyId,
    recipient: AgencyId,
) -> Result<(i64, Vec<AgreementView>), AppError> {
    let epoch = epoch::current(conn)?;
    let views = cache
        .views(conn, epoch, discloser)?
        .iter()
        .filter(|v| v.agreement.involves(recipient))
        .cloned()
        .collect();
    Ok((epoch, views))
}

/// What a record asks of the loader.
pub struct Wanted<'a> {
    pub discloser: AgencyId,
    pub area: &'a GssCode,
    pub statutory: Vec<(AgencyKind, Route)>,
    /// The event and facets subscribers filter on (none: no subscribers, as for referrals).
    pub subscribers: Option<(EventType, Facets<'a>)>,
}

/// The inputs of a plan, and each candidate's subscriptions (for the outbox), read in the
/// caller's snapshot.
pub fn load(
    conn: &mut DbConn,
    cache: &PlanCache,
    wanted: &Wanted<'_>,
) -> Result<(Inputs, HashMap<AgencyId, Vec<Subscription>>), AppError> {
    let epoch = epoch::current(conn)?;
    let mut statutory = Vec::new();
    for (kind, route) in &wanted.statutory {
        for id in cache.covering(conn, epoch, wanted.area, *kind)?.iter() {
            statutory.push((*id, *route));
        }
    }
    let subs = cache.subscriptions(conn, epoch)?;
    let own = cache.views(conn, epoch, wanted.discloser)?;
    // A subscription asks for records from the discloser's partners only: a subscriber is a
    // candidate where it and the discloser are parties to an agreement (of any status, so a
    // suspended or expired one is a reasoned `withheld`), never for every record in the hub.
    let subscribers = match &wanted.subscribers {
        Some((event, facets)) => subs
            .iter()
            .filter(|s| s.wants(*event) && s.filters.matches(facets))
            .map(|s| s.agency_id)
            .filter(|a| own.iter().any(|v| v.agreement.involves(*a)))
            .collect(),
        None => Vec::new(),
    };
    let mut inputs = Inputs {
        epoch,
        statutory,
        subscribers,
        views: HashMap::new(),
    };
    let mut channels: HashMap<AgencyId, Vec<Subscription>> = HashMap::new();
    for c in inputs.candidates(wanted.discloser) {
        let between: Vec<AgreementView> = own
            .iter()
            .filter(|v| v.agreement.involves(c.agency_id))
            .cloned()
            .collect();
        inputs.views.insert(c.agency_id, between);
        channels.insert(
            c.agency_id,
            subs.iter()
                .filter(|s| s.agency_id == c.agency_id)
                .cloned()
                .collect(),
        );
    }
    Ok((inputs, channels))
}

/// What planning gave a record: each candidate's outcome and its subscriptions, at one epoch.
pub struct Planned {
    pub epoch: i64,
    pub outcomes: Vec<Outcome>,
    pub channels: HashMap<AgencyId, Vec<Subscription>>,
}

/// Loads what `wanted` names (in the caller's snapshot) and plans `ask` on it.
pub fn planned(
    conn: &mut DbConn,
    cache: &PlanCache,
    wanted: &Wanted<'_>,
    ask: &Ask<'_>,
) -> Result<Planned, AppError> {
    let (inputs, channels) = load(conn, cache, wanted)?;
    Ok(Planned {
        epoch: inputs.epoch,
        outcomes: plan::plan(ask, &inputs),
        channels,
    })
}

/// Inside the write: the plan was made on the epoch that still holds, or it is stale.
pub fn check_epoch(conn: &mut DbConn, planned: i64) -> Result<(), AppError> {
    if epoch::hold(conn)? == planned {
        Ok(())
    } else {
        Err(AppError::StalePlan)
    }
}

/// What a routing tells its recipients, gathered so that each table gets one multi-row
/// insert: the notifications, and per notification one delivery per subscription that wants
/// the event, or one e-mail to the recipient's contact address (no partner is left untold).
/// Bodies are thin: `{type, timestamp, data}` with ids, never the record.
#[derive(Debug, Default)]
pub struct Told {
    notifications: Vec<Notification>,
    deliveries: Vec<Delivery>,
}

impl Told {
    /// A permitted candidate's notification, told on its `subscriptions`.
    pub fn notify(
        &mut self,
        n: Notification,
        subscriptions: &[Subscription],
        data: Value,
        now: DateTime<Utc>,
    ) {
        self.queue(
            n.agency_id,
            n.event,
            data,
            &n.classification,
            subscriptions,
            now,
        );
        self.notifications.push(n);
    }

    /// Queues `event` with `data` for `agency` on its active `subscriptions`.
    pub fn queue(
        &mut self,
        agency: AgencyId,
        event: EventType,
        data: Value,
        classification: &str,
        subscriptions: &[Subscription],
        now: DateTime<Utc>,
    ) {
        let payload = json!({
            "type": event.as_str(),
            "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": data,
        });
        let subs: Vec<&Subscription> = subscriptions.iter().filter(|s| s.wants(event)).collect();
        let targets: Vec<(Option<_>, &str)> = if subs.is_empty() {
            vec![(None, "email")]
        } else {
            subs.iter()
                .map(|s| {
                    let kind = match s.channel {
                        Channel::Webhook { .. } => "webhook",
                        Channel::Email { .. } => "email",
                    };
                    (Some(s.id), kind)
                })
                .collect()
        };
        for (subscription_id, channel) in targets {
            self.deliveries.push(Delivery {
                id: DeliveryId::new(),
                agency_id: agency,
                subscription_id,
                channel: channel.to_owned(),
                event_type: event,
                payload: payload.clone(),
                classification: classification.to_owned(),
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
                last_attempt_at: None,
                last_status: None,
                last_error: None,
                delivered_at: None,
            });
        }
    }

    /// Writes what was gathered; returns the deliveries queued.
    pub fn write(self, conn: &mut DbConn) -> Result<Vec<DeliveryId>, AppError> {
        notifications::insert_all(conn, &self.notifications)?;
        outbox::insert_all(conn, &self.deliveries)?;
        Ok(self.deliveries.iter().map(|d| d.id).collect())
    }
}

/// The `disclosure` entry of a candidate the policy withheld a record from (`what` names the
/// record in the justification, e.g. "referral "). The candidate is never a recipient: the
/// entry is the discloser's and the hub auditor's to see, never the withheld agency's.
pub(in crate::service) fn withheld_entry(
    base: crate::domain::audit::NewEntry,
    agency: AgencyId,
    route: Route,
    reasons: Vec<String>,
    what: &str,
) -> crate::domain::audit::NewEntry {
    crate::domain::audit::NewEntry {
        withheld_from: vec![agency],
        ..base
    }
    .decision(crate::domain::audit::Decision::Withheld, reasons)
    .justification(format!("{what}withheld from the {} route", route.as_str()))
}
