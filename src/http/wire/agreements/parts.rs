//! Parsing the parts of an agreement body: parties with their lawful bases, procedures and
//! data items (field paths checked against the record field catalogue).
use super::{optional_text, required, text, DataItemsIn, PartyIn, ProceduresIn};
use crate::domain::agreement::{
    DataItems, OnTermination, Party, PartyRole, Procedures, MAX_BREACH_NOTIFICATION_HOURS,
};
use crate::domain::fields::{self, RecordKind};
use crate::domain::ids::AgencyId;
use crate::domain::sharing::{Condition, PartyLawfulBasis, Regime, SpecialCategory};
use crate::domain::validate::Errors;

pub(super) fn parse_party(e: &mut Errors, at: &str, p: &PartyIn) -> Option<Party> {
    let agency = required(e, &format!("{at}/agency_id"), p.agency_id.as_deref()).and_then(|a| {
        e.take(
            format!("{at}/agency_id"),
            a.parse::<AgencyId>().map_err(|_| "is not an agency id"),
        )
    });
    let role = required(e, &format!("{at}/role"), p.role.as_deref())
        .and_then(|r| e.take(format!("{at}/role"), r.parse::<PartyRole>()));
    let basis = match &p.lawful_basis {
        None => {
            e.add(format!("{at}/lawful_basis"), "is required");
            None
        }
        Some(b) => {
            let lb = format!("{at}/lawful_basis");
            let regime = required(e, &format!("{lb}/regime"), b.regime.as_deref())
                .and_then(|r| e.take(format!("{lb}/regime"), r.parse::<Regime>()));
            let condition = required(e, &format!("{lb}/condition"), b.condition.as_deref())
                .and_then(|c| e.take(format!("{lb}/condition"), c.parse::<Condition>()));
            let special = match b.special_category.as_deref() {
                None => Some(None),
                Some(s) => e
                    .take(
                        format!("{lb}/special_category"),
                        s.parse::<SpecialCategory>(),
                    )
                    .map(Some),
            };
            match (regime, condition, special) {
                (Some(r), Some(c), Some(s)) => match PartyLawfulBasis::new(r, c, s) {
                    Ok(b) => Some(b),
                    Err(err) => {
                        e.add(format!("{lb}/{}", err.field), err.detail);
                        None
                    }
                },
                _ => None,
            }
        }
    };
    let contact = optional_text(e, &format!("{at}/contact"), p.contact.as_deref(), 320);
    Some(Party {
        agency_id: agency?,
        role: role?,
        lawful_basis: basis?,
        contact,
    })
}

pub(super) fn parse_procedures(e: &mut Errors, p: &ProceduresIn) -> Option<Procedures> {
    let at = "/procedures";
    let subject_access = text(
        e,
        &format!("{at}/subject_access"),
        p.subject_access.as_deref(),
        10_000,
    );
    let breach = text(e, &format!("{at}/breach"), p.breach.as_deref(), 10_000);
    let termination = text(
        e,
        &format!("{at}/termination"),
        p.termination.as_deref(),
        10_000,
    );
    let hours = match p.breach_notification_hours {
        None => {
            e.add(format!("{at}/breach_notification_hours"), "is required");
            None
        }
        Some(h) if (1..=MAX_BREACH_NOTIFICATION_HOURS).contains(&h) => Some(h),
        Some(_) => {
            e.add(
                format!("{at}/breach_notification_hours"),
                format!("must be 1 to {MAX_BREACH_NOTIFICATION_HOURS}"),
            );
            None
        }
    };
    let on_termination = required(
        e,
        &format!("{at}/on_termination"),
        p.on_termination.as_deref(),
    )
    .and_then(|o| e.take(format!("{at}/on_termination"), o.parse::<OnTermination>()));
    let data_quality = optional_text(
        e,
        &format!("{at}/data_quality"),
        p.data_quality.as_deref(),
        10_000,
    );
    let security = optional_text(e, &format!("{at}/security"), p.security.as_deref(), 10_000);
    let training = optional_text(e, &format!("{at}/training"), p.training.as_deref(), 10_000);
    Some(Procedures {
        subject_access: subject_access?,
        breach: breach?,
        breach_notification_hours: hours?,
        termination: termination?,
        on_termination: on_termination?,
        data_quality,
        security,
        training,
    })
}

pub(super) fn parse_data_items(
    e: &mut Errors,
    items: Option<&[DataItemsIn]>,
    parties: &[Party],
) -> Vec<DataItems> {
    let Some(items) = items.filter(|i| !i.is_empty()) else {
        e.add(
            "/data_items",
            "at least one entry is required: an agreement names what may move",
        );
        return Vec::new();
    };
    let mut out: Vec<DataItems> = Vec::new();
    for (i, d) in items.iter().enumerate() {
        let at = format!("/data_items/{i}");
        let recipient = required(
            e,
            &format!("{at}/recipient_agency_id"),
            d.recipient_agency_id.as_deref(),
        )
        .and_then(|r| {
            e.take(
                format!("{at}/recipient_agency_id"),
                r.parse::<AgencyId>().map_err(|_| "is not an agency id"),
            )
        });
        if let Some(r) = recipient {
            match parties.iter().find(|p| p.agency_id == r) {
                None => e.add(
                    format!("{at}/recipient_agency_id"),
                    "is not a party to the agreement",
                ),
                Some(p) if !p.role.receives() => e.add(
                    format!("{at}/recipient_agency_id"),
                    "is a discloser only; make its role recipient or both",
                ),
                Some(_) => {}
            }
        }
        let kind = required(e, &format!("{at}/record_kind"), d.record_kind.as_deref())
            .and_then(|k| e.take(format!("{at}/record_kind"), k.parse::<RecordKind>()));
        let mut paths: Vec<String> = Vec::new();
        match &d.fields {
            None => e.add(format!("{at}/fields"), "is required"),
            Some(f) if f.is_empty() => e.add(format!("{at}/fields"), "name at least one field"),
            Some(f) => {
                for (j, path) in f.iter().enumerate() {
                    if let Some(k) = kind {
                        match fields::check(k, path) {
                            Ok(()) if !paths.contains(path) => paths.push(path.clone()),
                            Ok(()) => {}
                            Err(m) => e.add(format!("{at}/fields/{j}"), m),
                        }
                    }
                }
            }
        }
        if let (Some(recipient), Some(record_kind)) = (recipient, kind) {
            if out
                .iter()
                .any(|o| o.recipient == recipient && o.record_kind == record_kind)
            {
                e.add(
                    format!("{at}/record_kind"),
                    "this recipient already has data items of this record kind",
                );
            } else {
                out.push(DataItems {
                    recipient,
                    record_kind,
                    fields: paths,
                });
            }
        }
    }
    out
}
