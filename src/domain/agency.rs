//! Agencies, their kinds and areas, and the registration of their identity providers.
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::AgencyId;
use super::role::Role;
use super::validate::{pointer_token, required_text, Errors};
use crate::error::AppError;

/// What sort of organisation an agency is; routing and the NRM rules depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    PoliceForce,
    Nca,
    Cps,
    Glaa,
    HomeOffice,
    LocalAuthority,
    Mash,
    ChildrenSafeguardingPartnership,
    AdultsSafeguardingBoard,
    IctgService,
    Ngo,
    Health,
    Other,
    /// The office of a police and crime commissioner (commissions victim support).
    Pcc,
}

impl AgencyKind {
    pub const ALL: [AgencyKind; 14] = [
        AgencyKind::PoliceForce,
        AgencyKind::Nca,
        AgencyKind::Cps,
        AgencyKind::Glaa,
        AgencyKind::HomeOffice,
        AgencyKind::LocalAuthority,
        AgencyKind::Mash,
        AgencyKind::ChildrenSafeguardingPartnership,
        AgencyKind::AdultsSafeguardingBoard,
        AgencyKind::IctgService,
        AgencyKind::Ngo,
        AgencyKind::Health,
        AgencyKind::Other,
        AgencyKind::Pcc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgencyKind::PoliceForce => "police_force",
            AgencyKind::Nca => "nca",
            AgencyKind::Cps => "cps",
            AgencyKind::Glaa => "glaa",
            AgencyKind::HomeOffice => "home_office",
            AgencyKind::LocalAuthority => "local_authority",
            AgencyKind::Mash => "mash",
            AgencyKind::ChildrenSafeguardingPartnership => "children_safeguarding_partnership",
            AgencyKind::AdultsSafeguardingBoard => "adults_safeguarding_board",
            AgencyKind::IctgService => "ictg_service",
            AgencyKind::Ngo => "ngo",
            AgencyKind::Health => "health",
            AgencyKind::Other => "other",
            AgencyKind::Pcc => "pcc",
        }
    }

    /// Kinds that are first responders by statute (police, local authorities, Home Office,
    /// NCA, GLAA). NGOs are first responders only when designated, which the agency record
    /// says in `first_responder`.
    pub fn is_statutory_first_responder(self) -> bool {
        matches!(
            self,
            AgencyKind::PoliceForce
                | AgencyKind::Nca
                | AgencyKind::Glaa
                | AgencyKind::HomeOffice
                | AgencyKind::LocalAuthority
        )
    }
}

impl fmt::Display for AgencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgencyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AgencyKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown agency kind `{s}`"))
    }
}

/// An ONS GSS area code: a country letter (E, W, S, N, K) and eight digits, for example
/// `E08000025` (Birmingham).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GssCode(String);

impl TryFrom<String> for GssCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        GssCode::parse(&s)
    }
}

impl From<GssCode> for String {
    fn from(g: GssCode) -> String {
        g.0
    }
}

impl GssCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        let b = s.as_bytes();
        let ok = b.len() == 9
            && matches!(b.first(), Some(b'E' | b'W' | b'S' | b'N' | b'K'))
            && b.iter().skip(1).all(u8::is_ascii_digit);
        if ok {
            Ok(GssCode(s.to_owned()))
        } else {
            Err(format!(
                "`{s}` is not a GSS code (a letter E, W, S, N or K and eight digits)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GssCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    pub id: AgencyId,
    pub name: String,
    pub kind: AgencyKind,
    pub areas: Vec<GssCode>,
    pub first_responder: bool,
    pub contact_email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A validated request to register an agency.
#[derive(Debug, Clone)]
pub struct NewAgency {
    pub name: String,
    pub kind: AgencyKind,
    pub areas: Vec<GssCode>,
    pub first_responder: bool,
    pub contact_email: String,
}

/// A validated change to an agency; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgencyPatch {
    pub name: Option<String>,
    pub kind: Option<AgencyKind>,
    pub areas: Option<Vec<GssCode>>,
    pub first_responder: Option<bool>,
    pub contact_email: Option<String>,
}

impl AgencyPatch {
    /// Whether the change touches what only the hub operator may change: the name, kind,
    /// areas (they drive routing) and first-responder status (a legal designation).
    pub fn needs_operator(&self) -> bool {
        self.name.is_some()
            || self.kind.is_some()
            || self.areas.is_some()
            || self.first_responder.is_some()
    }

    pub fn apply(&self, a: &mut Agency, now: DateTime<Utc>) {
        if let Some(v) = &self.name {
            a.name = v.clone();
        }
        if let Some(v) = self.kind {
            a.kind = v;
        }
        if let Some(v) = &self.areas {
            a.areas = v.clone();
        }
        if let Some(v) = self.first_responder {
            a.first_responder = v;
        }
        if let Some(v) = &self.contact_email {
            a.contact_email = v.clone();
        }
        a.updated_at = now;
    }
}

/// Parses an agency name (pointer given by the caller).
pub fn parse_name(errors: &mut Errors, pointer: &str, name: Option<&str>) -> Option<String> {
    match name {
        None => {
            errors.add(pointer, "is required");
            None
        }
        Some(n) => errors.take(pointer, required_text(n, 200)),
    }
}

/// Parses a list of GSS codes; at least one is required.
pub fn parse_areas(errors: &mut Errors, pointer: &str, areas: &[String]) -> Option<Vec<GssCode>> {
    if areas.is_empty() {
        errors.add(pointer, "at least one GSS area code is required");
        return None;
    }
    let mut out = Vec::with_capacity(areas.len());
    let mut bad = false;
    for (i, a) in areas.iter().enumerate() {
        match GssCode::parse(a) {
            Ok(c) if !out.contains(&c) => out.push(c),
            Ok(_) => {}
            Err(e) => {
                errors.add(format!("{pointer}/{i}"), e);
                bad = true;
            }
        }
    }
    out.sort();
    (!bad).then_some(out)
}

/// Parses a contact e-mail address.
pub fn parse_email(errors: &mut Errors, pointer: &str, email: &str) -> Option<String> {
    match email.trim().parse::<lettre::Address>() {
        Ok(a) => Some(a.to_string()),
        Err(_) => {
            errors.add(pointer, "is not a valid e-mail address");
            None
        }
    }
}

/// Parses an agency kind.
pub fn parse_kind(errors: &mut Errors, pointer: &str, kind: Option<&str>) -> Option<AgencyKind> {
    match kind {
        None => {
            errors.add(pointer, "is required");
            None
        }
        Some(k) => errors.take(pointer, k.parse::<AgencyKind>()),
    }
}

/// How the hub reads an agency's access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    pub agency_id: AgencyId,
    /// The exact `iss` of its tokens, and the base of its OIDC discovery.
    pub issuer: String,
    /// The value the token's `aud` must contain.
    pub audience: String,
    /// Dotted path to the claim holding the caller's roles (`roles`, `realm_access.roles`).
    pub roles_claim: String,
    /// Token value -> hub role.
    pub role_map: BTreeMap<String, Role>,
    /// Accept `typ: JWT` as well as `at+jwt` (Microsoft Entra ID and others).
    pub accept_jwt_typ: bool,
    /// The IG console's OpenID client at this issuer, when the agency registered one.
    pub console: Option<ConsoleClient>,
}

/// The IG console as an OpenID client (authorization code flow with PKCE) of an agency's
/// issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleClient {
    pub client_id: String,
    /// The client secret, sealed at rest (none for a public client that relies on PKCE).
    pub client_secret: Option<ClientSecret>,
    /// Where the issuer sends the browser back: the hub's `/console/callback`.
    pub redirect_uri: String,
}

/// A client secret: plain text as an administrator gave it, or sealed as stored. Its `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientSecret {
    Plain(String),
    Sealed(String),
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(..)")
    }
}

/// The raw fields of the console's client, before validation.
#[derive(Debug, Clone)]
pub struct ConsoleClientInput<'a> {
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
}

/// The path every console redirect URI ends with.
pub const CONSOLE_CALLBACK_PATH: &str = "/console/callback";

impl ConsoleClient {
    /// Validates the console's client (pointers under `/console`).
    fn parse(
        errors: &mut Errors,
        input: &ConsoleClientInput<'_>,
        allow_http: bool,
    ) -> Option<Self> {
        let client_id = match input.client_id {
            None => {
                errors.add("/console/client_id", "is required");
                None
            }
            Some(c) => errors.take("/console/client_id", required_text(c, 255)),
        };
        let client_secret = match input.client_secret {
            None => None,
            Some(s) if s.len() < 16 || s.len() > 512 => {
                errors.add(
                    "/console/client_secret",
                    "must be between 16 and 512 characters",
                );
                None
            }
            Some(s) => Some(ClientSecret::Plain(s.to_owned())),
        };
        let redirect_uri = match input.redirect_uri {
            None => {
                errors.add("/console/redirect_uri", "is required");
                None
            }
            Some(r) => errors.take("/console/redirect_uri", parse_redirect_uri(r, allow_http)),
        };
        Some(ConsoleClient {
            client_id: client_id?,
            client_secret,
            redirect_uri: redirect_uri?,
        })
    }
}

/// A console redirect URI: absolute https (http only where allowed), ending in
/// [`CONSOLE_CALLBACK_PATH`], no query or fragment.
pub fn parse_redirect_uri(s: &str, allow_http: bool) -> Result<String, String> {
    let url = parse_issuer(s, allow_http)?;
    if !url.ends_with(CONSOLE_CALLBACK_PATH) {
        return Err(format!("must be the hub's {CONSOLE_CALLBACK_PATH} URL"));
    }
    Ok(url)
}

/// The raw fields of an identity-provider registration, before validation.
#[derive(Debug, Clone)]
pub struct IdentityProviderInput<'a> {
    pub issuer: Option<&'a str>,
    pub audience: Option<&'a str>,
    pub roles_claim: Option<&'a str>,
    pub role_map: Option<&'a BTreeMap<String, String>>,
    pub accept_jwt_typ: bool,
    pub console: Option<ConsoleClientInput<'a>>,
}

impl IdentityProvider {
    /// Validates a registration. `operator` says whether the issuer belongs to the hub
    /// operator (only then may it map to `hub_admin`/`hub_auditor`, and only to them).
    pub fn parse(
        agency_id: AgencyId,
        input: IdentityProviderInput<'_>,
        allow_http: bool,
        operator: bool,
    ) -> Result<Self, AppError> {
        let mut errors = Errors::new();
        let issuer = match input.issuer {
            None => {
                errors.add("/issuer", "is required");
                None
            }
            Some(i) => errors.take("/issuer", parse_issuer(i, allow_http)),
        };
        let audience = match input.audience {
            None => {
                errors.add("/audience", "is required");
                None
            }
            Some(a) => errors.take("/audience", required_text(a, 500)),
        };
        let roles_claim = input.roles_claim.unwrap_or("roles");
        let roles_claim_ok = !roles_claim.is_empty()
            && roles_claim.len() <= 200
            && roles_claim.split('.').all(|s| !s.is_empty());
        if !roles_claim_ok {
            errors.add(
                "/roles_claim",
                "must be a dotted claim path such as `realm_access.roles`",
            );
        }
        let mut role_map = BTreeMap::new();
        match input.role_map {
            None => errors.add("/role_map", "is required"),
            Some(m) if m.is_empty() => errors.add("/role_map", "must map at least one value"),
            Some(m) => {
                for (k, v) in m {
                    let pointer = format!("/role_map/{}", pointer_token(k));
                    match v.parse::<Role>() {
                        Ok(r) if r.is_operator_role() != operator => errors.add(
                            pointer,
                            if operator {
                                "an operator issuer maps only to hub_admin or hub_auditor"
                            } else {
                                "an agency issuer cannot grant hub_admin or hub_auditor"
                            },
                        ),
                        Ok(r) => {
                            role_map.insert(k.clone(), r);
                        }
                        Err(_) => errors.add(pointer, format!("`{v}` is not a hub role")),
                    }
                }
            }
        }
        let console = input
            .console
            .as_ref()
            .and_then(|c| ConsoleClient::parse(&mut errors, c, allow_http));
        errors.finish()?;
        match (issuer, audience) {
            (Some(issuer), Some(audience)) => Ok(IdentityProvider {
                agency_id,
                issuer,
                audience,
                roles_claim: roles_claim.to_owned(),
                role_map,
                accept_jwt_typ: input.accept_jwt_typ,
                console,
            }),
            _ => Err(AppError::validation("", "invalid identity provider")),
        }
    }
}

/// An issuer URL: absolute https (http only where allowed), no query or fragment.
pub fn parse_issuer(s: &str, allow_http: bool) -> Result<String, String> {
    let url = url::Url::parse(s).map_err(|e| format!("is not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        _ => return Err("must be an https URL".to_owned()),
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err("must be an absolute URL without query or fragment".to_owned());
    }
    if s.len() > 500 {
        return Err("must be at most 500 characters".to_owned());
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gss_codes() {
        assert!(GssCode::parse("E08000025").is_ok());
        assert!(GssCode::parse("W06000015").is_ok());
        assert!(GssCode::parse("X08000025").is_err());
        assert!(GssCode::parse("E0800002").is_err());
        assert!(GssCode::parse("E0800002A").is_err());
    }

    #[test]
    fn agency_issuers_cannot_grant_operator_roles() {
        let map = BTreeMap::from([("admin".to_owned(), "hub_admin".to_owned())]);
        let input = IdentityProviderInput {
            issuer: Some("https://idp.example.org"),
            audience: Some("msht-hub"),
            roles_claim: None,
            role_map: Some(&map),
            accept_jwt_typ: false,
            console: None,
        };
        let err = IdentityProvider::parse(AgencyId::new(), input, false, false).unwrap_err();
        match err {
            AppError::Validation(v) => assert_eq!(v[0].pointer, "/role_map/admin"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn http_issuers_need_permission() {
        assert!(parse_issuer("http://127.0.0.1:9/x", false).is_err());
        assert!(parse_issuer("http://127.0.0.1:9/x", true).is_ok());
        assert!(parse_issuer("https://idp.example.org/realms/a?x=1", false).is_err());
    }

    #[test]
    fn console_redirect_uris_point_at_the_callback() {
        assert!(parse_redirect_uri("https://hub.example.org/console/callback", false).is_ok());
        assert!(parse_redirect_uri("http://127.0.0.1:8080/console/callback", true).is_ok());
        assert!(parse_redirect_uri("http://hub.example.org/console/callback", false).is_err());
        assert!(parse_redirect_uri("https://hub.example.org/elsewhere", false).is_err());
        assert!(parse_redirect_uri("https://hub.example.org/console/callback?x=1", false).is_err());
    }
}
