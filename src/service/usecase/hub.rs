//! The door to the hub's data for the edge: every use case takes a [`Hub`] and opens its own
//! transaction (a write intent on the process's one writer) or read snapshot through it, so a
//! handler extracts, makes one call and shapes the answer. The clock and the settings-derived
//! rules (deadlines, timing) come with it.
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::audit::{self, AuditRuntime, Sealed, Unproven};
use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::secrets::SecretBox;
use crate::domain::notification::Deadlines;
use crate::error::AppError;
use crate::service::store::{Db, DbConn};
use crate::usecase::referrals::Timing;
use crate::usecase::routing::PlanCache;

/// The database, the clock and the settings, shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    db: Db,
    clock: Clock,
    settings: Arc<Settings>,
    plans: PlanCache,
    secrets: Arc<SecretBox>,
    audit: Arc<AuditRuntime>,
}

impl Hub {
    pub fn new(
        db: Db,
        clock: Clock,
        settings: Arc<Settings>,
        secrets: Arc<SecretBox>,
        audit: Arc<AuditRuntime>,
    ) -> Hub {
        Hub {
            db,
            clock,
            settings,
            plans: PlanCache::default(),
            secrets,
            audit,
        }
    }

    /// Seals the receipt of an append that has committed: proves it from the nodes the
    /// append kept (see [`audit::proven`]) and signs the checkpoint, reading nothing.
    pub(in crate::service) fn seal(&self, appended: Unproven) -> Result<Sealed, AppError> {
        audit::sealed::seal_proven(&self.audit, appended.prove()?, self.now())
    }

    /// A sealer of receipts appended in a write intent (see [`audit::sealed`]).
    pub(in crate::service) fn sealer(&self) -> Sealer {
        Sealer {
            runtime: self.audit.clone(),
            now: self.now(),
        }
    }

    /// The key that seals webhook secrets at rest.
    pub(in crate::service) fn secrets(&self) -> &Arc<SecretBox> {
        &self.secrets
    }

    /// The hub's time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Routing inputs cached per policy epoch.
    pub(in crate::service) fn plans(&self) -> &PlanCache {
        &self.plans
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Acknowledgement deadlines of notifications.
    pub fn deadlines(&self) -> Deadlines {
        Deadlines {
            child_hours: self.settings.notifications.ack_hours_child,
            adult_hours: self.settings.notifications.ack_hours_adult,
        }
    }

    /// Referral deadlines in working days.
    pub fn referral_timing(&self) -> Timing {
        Timing::from_settings(&self.settings)
    }

    /// Runs `f` as one write intent (a savepoint of the writer's next batch), answered after
    /// that batch commits.
    pub(in crate::service) async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        self.db.write(f).await
    }

    /// Runs `f` as one *appending* write intent: its new audit entries, notifications and
    /// deliveries, which no other intent of its batch reads, are written with the batch's
    /// others (see `Db::write_appending`); answered after that batch commits.
    pub(in crate::service) async fn write_appending<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        self.db.write_appending(f).await
    }

    /// Runs `f` on a reader connection.
    pub(in crate::service) async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        self.db.read(f).await
    }

    /// Runs `f` in one read-only snapshot on a reader connection.
    pub(in crate::service) async fn snapshot<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        self.db.snapshot(f).await
    }

    /// Why writes are refused, when the audit log was found rolled back.
    pub fn halted(&self) -> Option<String> {
        self.db.halted()
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), AppError> {
        self.db.ping().await
    }
}

/// Seals receipts inside a write intent, right after their append.
#[derive(Clone)]
pub(in crate::service) struct Sealer {
    runtime: Arc<AuditRuntime>,
    now: DateTime<Utc>,
}

impl Sealer {
    pub fn seal(&self, conn: &mut DbConn, appended: Unproven) -> Result<Sealed, AppError> {
        audit::sealed::seal(conn, &self.runtime, appended.prove()?, self.now)
    }
}
