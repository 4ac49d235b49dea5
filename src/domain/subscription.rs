//! Subscriptions: which events an agency wants, for which areas, exploitation types, threats
//! and victim ages, and how it is told (a signed webhook or e-mail). The webhook URL's DNS
//! checks live in `delivery::ssrf`; here is what needs no network.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::agency::{parse_areas, parse_email, GssCode};
use super::ids::{AgencyId, SubscriptionId};
use super::limits::Limits;
use super::msht::{EventType, ExploitationType, Threat};
use super::validate::Errors;
use super::webhook_url as ssrf;

/// Which victims a subscription is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VictimAge {
    Child,
    Adult,
    #[default]
    Any,
}

/// What a subscription matches; an empty list matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    pub areas: Vec<GssCode>,
    #[serde(default)]
    pub exploitation_types: Vec<ExploitationType>,
    #[serde(default)]
    pub threats: Vec<Threat>,
    #[serde(default)]
    pub victim_age: VictimAge,
}

/// The facets of a record that subscriptions match against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facets<'a> {
    pub area: &'a GssCode,
    pub exploitation_types: &'a [ExploitationType],
    pub threats: &'a [Threat],
    pub any_child: bool,
    pub any_adult: bool,
}

impl Filters {
    pub fn matches(&self, f: &Facets<'_>) -> bool {
        let area = self.areas.is_empty() || self.areas.contains(f.area);
        let types = self.exploitation_types.is_empty()
            || self
                .exploitation_types
                .iter()
                .any(|t| f.exploitation_types.contains(t));
        let threats = self.threats.is_empty() || self.threats.iter().any(|t| f.threats.contains(t));
        let age = match self.victim_age {
            VictimAge::Any => true,
            VictimAge::Child => f.any_child,
            VictimAge::Adult => f.any_adult,
        };
        area && types && threats && age
    }
}

/// How a subscriber is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    Webhook { url: String },
    Email { addresses: Vec<String> },
}

impl Channel {
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook { .. } => "webhook",
            Channel::Email { .. } => "email",
        }
    }
}

/// A stored subscription. Its `Debug` form never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub agency_id: AgencyId,
    pub events: Vec<EventType>,
    pub filters: Filters,
    pub channel: Channel,
    /// The `whsec_` secret of a webhook subscription (in the clear when just made; sealed
    /// as stored when read back).
    pub secret: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("agency_id", &self.agency_id)
            .field("events", &self.events)
            .field("filters", &self.filters)
            .field("channel", &self.channel)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("active", &self.active)
            .field("disabled_reason", &self.disabled_reason)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl Subscription {
    pub fn wants(&self, event: EventType) -> bool {
        self.active && self.events.contains(&event)
    }
}

/// The raw request, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub filters: Option<FiltersInput>,
    pub channel: Option<ChannelInput>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FiltersInput {
    #[serde(default)]
    pub areas: Vec<String>,
    #[serde(default)]
    pub exploitation_types: Vec<String>,
    #[serde(default)]
    pub threats: Vec<String>,
    pub victim_age: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
    pub addresses: Option<Vec<String>>,
}

/// A validated new subscription (the webhook URL's addresses are checked separately).
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub events: Vec<EventType>,
    pub filters: Filters,
    pub channel: Channel,
}

fn parse_list<T: std::str::FromStr<Err = String>>(
    e: &mut Errors,
    pointer: &str,
    raw: &[String],
) -> Vec<T> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        if let Some(v) = e.take(format!("{pointer}/{i}"), r.parse::<T>()) {
            out.push(v);
        }
    }
    out
}

impl SubscriptionInput {
    /// Validates everything but DNS and the agency's own rules (its subscription count and
    /// mail domain, see [`check_mail_domains`]), within `limits`.
    pub fn parse(
        self,
        rules: ssrf::Rules,
        limits: &Limits,
    ) -> Result<NewSubscription, crate::error::AppError> {
        let mut e = Errors::new();
        if let Some(events) = &self.events {
            limits.list(&mut e, "/events", events.len());
        }
        if let Some(f) = &self.filters {
            limits.list(&mut e, "/filters/areas", f.areas.len());
            limits.list(
                &mut e,
                "/filters/exploitation_types",
                f.exploitation_types.len(),
            );
            limits.list(&mut e, "/filters/threats", f.threats.len());
        }
        if let Some(addresses) = self.channel.as_ref().and_then(|c| c.addresses.as_ref()) {
            limits.addresses(&mut e, "/channel/addresses", addresses.len());
        }
        e.finish()?;
        let mut e = Errors::new();
        let events: Vec<EventType> = match &self.events {
            None => {
                e.add("/events", "is required");
                Vec::new()
            }
            Some(v) if v.is_empty() => {
                e.add("/events", "name at least one event");
                Vec::new()
            }
            Some(v) => parse_list(&mut e, "/events", v),
        };
        let f = self.filters.unwrap_or_default();
        let areas = if f.areas.is_empty() {
            Vec::new()
        } else {
            parse_areas(&mut e, "/filters/areas", &f.areas).unwrap_or_default()
        };
        let filters = Filters {
            areas,
            exploitation_types: parse_list(
                &mut e,
                "/filters/exploitation_types",
                &f.exploitation_types,
            ),
            threats: parse_list(&mut e, "/filters/threats", &f.threats),
            victim_age: match f.victim_age.as_deref() {
                None | Some("any") => VictimAge::Any,
                Some("child") => VictimAge::Child,
                Some("adult") => VictimAge::Adult,
                Some(other) => {
                    e.add(
                        "/filters/victim_age",
                        format!("`{other}` is not child, adult or any"),
                    );
                    VictimAge::Any
                }
            },
        };
        let channel = match self.channel {
            None => {
                e.add("/channel", "is required");
                None
            }
            Some(c) => match c.kind.as_deref() {
                Some("webhook") => match c.url.as_deref() {
                    None => {
                        e.add("/channel/url", "is required for a webhook");
                        None
                    }
                    Some(u) => e
                        .take("/channel/url", ssrf::check_syntax(u, rules))
                        .map(|url| Channel::Webhook {
                            url: url.to_string(),
                        }),
                },
                Some("email") => match c.addresses.as_deref() {
                    None | Some([]) => {
                        e.add("/channel/addresses", "at least one address is required");
                        None
                    }
                    Some(list) => {
                        let parsed: Vec<String> = list
                            .iter()
                            .enumerate()
                            .filter_map(|(i, a)| {
                                parse_email(&mut e, &format!("/channel/addresses/{i}"), a)
                            })
                            .collect();
                        Some(Channel::Email { addresses: parsed })
                    }
                },
                _ => {
                    e.add("/channel/type", "must be `webhook` or `email`");
                    None
                }
            },
        };
        e.finish()?;
        let channel =
            channel.ok_or_else(|| crate::error::AppError::validation("/channel", "invalid"))?;
        Ok(NewSubscription {
            events,
            filters,
            channel,
        })
    }
}

/// The domain of an e-mail address, lower case.
fn mail_domain(address: &str) -> Option<String> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
}

/// An e-mail subscription may send only to the agency's own mail domain: the domain of its
/// registered contact address, or a subdomain of it. So the hub's mail relay tells an
/// agency's own people, and never becomes a way to mail anyone at all.
pub fn check_mail_domains(
    channel: &Channel,
    contact_email: &str,
) -> Result<(), crate::error::AppError> {
    let Channel::Email { addresses } = channel else {
        return Ok(());
    };
    let Some(own) = mail_domain(contact_email) else {
        return Err(crate::error::AppError::validation(
            "/channel/addresses",
            "the agency has no contact address to take its mail domain from",
        ));
    };
    let mut e = Errors::new();
    for (i, a) in addresses.iter().enumerate() {
        let ok = mail_domain(a).is_some_and(|d| d == own || d.ends_with(&format!(".{own}")));
        if !ok {
            e.add(
                format!("/channel/addresses/{i}"),
                format!(
                    "must be in the agency's own mail domain `{own}` (that of its contact \
                     address) or a subdomain of it"
                ),
            );
        }
    }
    e.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_debug_form_never_shows_the_secret() {
        let sub = Subscription {
            id: SubscriptionId::new(),
            agency_id: AgencyId::new(),
            events: vec![],
            filters: Filters::default(),
            channel: Channel::Webhook {
                url: "https://hooks.example.org/x".into(),
            },
            secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            active: true,
            disabled_reason: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
        };
        let text = format!("{sub:?}");
        assert!(!text.contains("MfKQ9r8G"), "{text}");
        assert!(text.contains("[redacted]") && text.contains("hooks.example.org"));
    }

    #[test]
    fn mail_goes_only_to_the_agencys_own_domain() {
        let ch = |a: &[&str]| Channel::Email {
            addresses: a.iter().map(|s| (*s).to_owned()).collect(),
        };
        let contact = "team@Agency.example.org";
        assert!(check_mail_domains(&ch(&["duty@agency.example.org"]), contact).is_ok());
        assert!(check_mail_domains(&ch(&["x@mash.agency.example.org"]), contact).is_ok());
        for bad in ["x@evil.example", "x@notagency.example.org", "x@example.org"] {
            assert!(check_mail_domains(&ch(&[bad]), contact).is_err(), "{bad}");
        }
    }

    fn facets(area: &GssCode) -> Facets<'_> {
        Facets {
            area,
            exploitation_types: &[ExploitationType::Criminal],
            threats: &[Threat::CountyLines],
            any_child: true,
            any_adult: false,
        }
    }

    #[test]
    fn filters_match_facets() {
        let bham = GssCode::parse("E08000025").unwrap();
        let cov = GssCode::parse("E08000026").unwrap();
        assert!(Filters::default().matches(&facets(&bham)));
        let f = Filters {
            areas: vec![cov.clone()],
            ..Filters::default()
        };
        assert!(!f.matches(&facets(&bham)));
        assert!(f.matches(&facets(&cov)));
        let f = Filters {
            victim_age: VictimAge::Adult,
            ..Filters::default()
        };
        assert!(!f.matches(&facets(&bham)));
        let f = Filters {
            exploitation_types: vec![ExploitationType::Labour],
            ..Filters::default()
        };
        assert!(!f.matches(&facets(&bham)));
    }

    #[test]
    fn parse_collects_pointers() {
        let input: SubscriptionInput = serde_json::from_value(serde_json::json!({
            "events": ["incident.notified", "nope"],
            "filters": {"areas": ["X"], "threats": ["county_lines"], "victim_age": "old"},
            "channel": {"type": "webhook", "url": "http://hooks.example.org/x"}
        }))
        .unwrap();
        let err = input
            .parse(ssrf::Rules::default(), &Limits::default())
            .unwrap_err();
        let crate::error::AppError::Validation(v) = err else {
            panic!()
        };
        let p: Vec<&str> = v.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(
            p,
            vec![
                "/events/1",
                "/filters/areas/0",
                "/filters/victim_age",
                "/channel/url"
            ]
        );
    }
}
