//! A new incident's writes, built from its plan before the write reaches the writer: its
//! routing's rows and every audit entry, already rendered, so the writer only inserts them.
use chrono::{DateTime, Utc};

use super::route::{Route, Routed};
use super::{Recorded, KIND};
use crate::audit::{self, Prepared};
use crate::domain::audit::{Actor, NewEntry, Operation};
use crate::domain::incident::Incident;
use crate::domain::msht::EventType;
use crate::domain::notification::Deadlines;
use crate::domain::projection;
use crate::domain::sharing::Purpose;
use crate::error::AppError;
use crate::service::store::{incidents, DbConn};
use crate::usecase::routing::Planned;

/// A new incident's writes, built from its plan before the write reaches the writer: the
/// routing's rows and every entry, already rendered.
pub(super) struct Ready {
    routed: Routed,
    entries: Vec<Prepared>,
}

impl Ready {
    pub(super) fn new(
        actor: &Actor,
        incident: &Incident,
        planned: &Planned,
        deadlines: Deadlines,
        now: DateTime<Utc>,
    ) -> Result<Ready, AppError> {
        let record = incident.to_record(now);
        let mut entries = vec![NewEntry {
            subject_refs: incident.subject_refs(),
            data_items: projection::paths_present(&record),
            classification: Some(incident.classification.as_str().to_owned()),
            ..NewEntry::new(Operation::Collection, actor.clone(), now)
                .record(KIND, &incident.id)
                .purpose(Purpose::Safeguarding.as_str())
                .justification(format!("MSHT incident {} recorded", incident.reference))
        }];
        let to = Route {
            incident,
            record: &record,
            version: 1,
            previous: &[],
            deadlines,
            now,
        };
        let routed = to.build(actor, planned, &mut entries, EventType::IncidentUpdated);
        Ok(Ready {
            routed,
            entries: Prepared::all(&entries)?,
        })
    }

    /// The write of the new incident with its planned routing.
    pub(super) fn write(
        self,
        conn: &mut DbConn,
        incident: &Incident,
        now: DateTime<Utc>,
    ) -> Result<Recorded, AppError> {
        incidents::insert(conn, incident, now)?;
        let routed = self.routed.write(conn, &incident.id, true)?;
        let first = audit::append_prepared_provable(conn, self.entries)?;
        Ok(Recorded {
            incident: incident.clone(),
            version: 1,
            routed,
            receipt: None,
            pending: first,
        })
    }
}
