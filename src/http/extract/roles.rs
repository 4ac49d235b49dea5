//! Role requirements, named once and used in handler signatures as `Authorized<HubAdmin>`.
use crate::domain::role::Role;

/// A set of roles of which the caller must hold at least one.
pub trait Requirement: 'static {
    const ROLES: &'static [Role];
    const DESCRIPTION: &'static str;
}

macro_rules! requirement {
    ($(#[$doc:meta])* $name:ident, [$($role:ident),+], $desc:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Requirement for $name {
            const ROLES: &'static [Role] = &[$(Role::$role),+];
            const DESCRIPTION: &'static str = $desc;
        }
    };
}

requirement!(
    /// The hub operator's administrator.
    HubAdmin, [HubAdmin], "the hub_admin role"
);
requirement!(
    /// The hub operator's administrator or an agency's administrator.
    AnyAdmin, [HubAdmin, AgencyAdmin], "the hub_admin or agency_admin role"
);
requirement!(
    /// Anyone with a hub role: the agency directory is open to every member.
    AnyRole, [HubAdmin, HubAuditor, AgencyAdmin, IgOfficer, Practitioner, Analyst, Commissioner], "a hub role"
);
requirement!(
    /// An agency's information governance officer: drafts, signs, suspends agreements.
    IgOfficer, [IgOfficer], "the ig_officer role"
);
requirement!(
    /// An agency's administrator: accepts terms of reference for their agency.
    AgencyAdmin, [AgencyAdmin], "the agency_admin role"
);
requirement!(
    /// Who may dry-run the policy function: IG officers, the hub operator and its auditor.
    IgOfficerOrHub, [IgOfficer, HubAdmin, HubAuditor], "the ig_officer, hub_admin or hub_auditor role"
);
requirement!(
    /// Those who manage an agency's subscriptions.
    SubscriptionManager, [Practitioner, AgencyAdmin], "the practitioner or agency_admin role"
);
requirement!(
    /// Those who look after deliveries: the operator, and an agency's admin for its own.
    DeliveryOperator, [HubAdmin, AgencyAdmin], "the hub_admin or agency_admin role"
);
requirement!(
    /// Readers of the audit log: the hub's auditor (every entry) or an agency's IG officer
    /// (its own agency's entries; the use case scopes them).
    AuditReader, [HubAuditor, IgOfficer], "the hub_auditor or ig_officer role"
);
requirement!(
    /// An agency's practitioners, who record incidents.
    IncidentRecorder, [Practitioner], "the practitioner role"
);
requirement!(
    /// An agency's staff who handle cases and notifications.
    AgencyStaff, [AgencyAdmin, IgOfficer, Practitioner], "the practitioner, ig_officer or agency_admin role"
);
requirement!(
    /// Practitioners (people or case systems with the role) who make referrals and record
    /// their lifecycle events; which events an agency may record depends on how it stands to
    /// the referral (`domain::referral_lifecycle::may_record`).
    CaseWorker, [Practitioner], "the practitioner role"
);
requirement!(
    /// Commissioning staff (a PCC office, a local authority): register providers and the
    /// services they fund, and read their contracts' spend.
    Commissioner, [Commissioner], "the commissioner role"
);
requirement!(
    /// Who may record a capacity exception for a service: its commissioner, or the staff of
    /// the provider's own agency (the use case checks which).
    CapacityKeeper, [Commissioner, Practitioner, AgencyAdmin], "the commissioner, practitioner or agency_admin role"
);
requirement!(
    /// Readers of the support coverage of an area: commissioners and partnership members'
    /// staff.
    CoverageReader, [Commissioner, Analyst, IgOfficer, Practitioner, AgencyAdmin], "the commissioner, analyst, ig_officer, practitioner or agency_admin role"
);
requirement!(
    /// Readers of the partnership's aggregate threat picture: analysts and IG officers.
    ThreatPictureReader, [Analyst, IgOfficer], "the analyst or ig_officer role"
);
requirement!(
    /// Readers of a partnership's learning records and recommendations: its members' staff
    /// and analysts (the use case checks membership).
    LearningReader, [AgencyAdmin, IgOfficer, Practitioner, Analyst], "the practitioner, analyst, ig_officer or agency_admin role"
);
