//! The local development issuer, mounted only by `serve --dev`.
//!
//! It serves one OpenID issuer per demo agency and one for the operator
//! (`/dev-issuer/{slug}`), each with discovery and a JWKS, signed by one Ed25519 key that is
//! generated once and kept in the data folder. Its tokens are checked by exactly the same
//! path as any agency's: discovery over HTTP, keys from the JWKS, the registry deciding the
//! agency. `msht-hub dev-token` mints them from the same key file.
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::agency::AgencyKind;
use crate::domain::role::Role;
use crate::error::AppError;

/// The audience of every dev-issuer token.
pub const DEV_AUDIENCE: &str = "msht-hub";
/// The IG console's client id at every dev issuer (a public client: PKCE, no secret).
pub const DEV_CONSOLE_CLIENT: &str = "msht-hub-console";
/// The slug of the operator's dev issuer.
pub const OPERATOR_SLUG: &str = "operator";

/// A demo agency that `serve --dev` seeds.
#[derive(Debug, Clone, Copy)]
pub struct DemoAgency {
    pub slug: &'static str,
    pub name: &'static str,
    pub kind: AgencyKind,
    pub areas: &'static [&'static str],
    pub first_responder: bool,
    pub contact_email: &'static str,
}

/// Birmingham (E08000025) and its neighbours in the West Midlands.
pub const DEMO_AGENCIES: [DemoAgency; 7] = [
    DemoAgency {
        slug: "police",
        name: "Demo West Midlands Police",
        kind: AgencyKind::PoliceForce,
        areas: &[
            "E08000025",
            "E08000026",
            "E08000027",
            "E08000028",
            "E08000029",
            "E08000030",
            "E08000031",
        ],
        first_responder: true,
        contact_email: "msht-unit@police.demo.invalid",
    },
    DemoAgency {
        slug: "mash",
        name: "Demo Birmingham MASH",
        kind: AgencyKind::Mash,
        areas: &["E08000025"],
        first_responder: true,
        contact_email: "mash@birmingham.demo.invalid",
    },
    DemoAgency {
        slug: "children",
        name: "Demo Birmingham Children's Safeguarding Partnership",
        kind: AgencyKind::ChildrenSafeguardingPartnership,
        areas: &["E08000025"],
        first_responder: false,
        contact_email: "lscp@birmingham.demo.invalid",
    },
    DemoAgency {
        slug: "adults",
        name: "Demo Birmingham Safeguarding Adults Board",
        kind: AgencyKind::AdultsSafeguardingBoard,
        areas: &["E08000025"],
        first_responder: false,
        contact_email: "sab@birmingham.demo.invalid",
    },
    DemoAgency {
        slug: "ictg",
        name: "Demo West Midlands ICTG Service",
        kind: AgencyKind::IctgService,
        areas: &[
            "E08000025",
            "E08000026",
            "E08000027",
            "E08000028",
            "E08000029",
            "E08000030",
            "E08000031",
        ],
        first_responder: false,
        contact_email: "ictg@ictg.demo.invalid",
    },
    DemoAgency {
        slug: "ngo",
        name: "Demo Anti-Slavery Support NGO",
        kind: AgencyKind::Ngo,
        areas: &["E08000025", "E08000026"],
        first_responder: true,
        contact_email: "referrals@ngo.demo.invalid",
    },
    DemoAgency {
        slug: "pcc",
        name: "Demo West Midlands PCC Office",
        kind: AgencyKind::Pcc,
        areas: &["E08000025"],
        first_responder: false,
        contact_email: "commissioning@pcc.demo.invalid",
    },
];

/// The dev issuers' shared signing key.
pub struct DevIssuer {
    signing: EncodingKey,
    public: [u8; 32],
    kid: String,
}

/// What `serve --dev` leaves in the data folder for `dev-token`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevState {
    pub base_url: String,
    pub agencies: Vec<DevStateAgency>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevStateAgency {
    pub slug: String,
    pub id: String,
    pub name: String,
}

fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("dev-issuer")
}

impl DevIssuer {
    /// Loads the key from the data folder, generating it the first time.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, AppError> {
        let path = dir(data_dir).join("signing-key.pem");
        let key = if path.exists() {
            let pem = std::fs::read_to_string(&path).map_err(AppError::internal)?;
            SigningKey::from_pkcs8_pem(&pem).map_err(AppError::internal)?
        } else {
            std::fs::create_dir_all(dir(data_dir)).map_err(AppError::internal)?;
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            let pem = key
                .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .map_err(AppError::internal)?;
            write_private(&path, pem.as_bytes())?;
            key
        };
        Self::from_key(&key)
    }

    /// Loads the key for `dev-token`; it must already exist.
    pub fn load(data_dir: &Path) -> Result<Self, AppError> {
        let path = dir(data_dir).join("signing-key.pem");
        let pem = std::fs::read_to_string(&path).map_err(|_| {
            AppError::Config(format!(
                "no dev issuer key at {}: run `msht-hub serve --dev` with this --data-dir first",
                path.display()
            ))
        })?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(AppError::internal)?;
        Self::from_key(&key)
    }

    fn from_key(key: &SigningKey) -> Result<Self, AppError> {
        let der = key.to_pkcs8_der().map_err(AppError::internal)?;
        let public = key.verifying_key().to_bytes();
        let kid = hex::encode(Sha256::digest(public).get(..8).unwrap_or_default());
        Ok(DevIssuer {
            signing: EncodingKey::from_ed_der(der.as_bytes()),
            public,
            kid,
        })
    }

    pub fn issuer_url(base_url: &str, slug: &str) -> String {
        format!("{}/dev-issuer/{slug}", base_url.trim_end_matches('/'))
    }

    /// The issuer's JWKS.
    pub fn jwks(&self) -> serde_json::Value {
        json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "kid": self.kid, "x": URL_SAFE_NO_PAD.encode(self.public),
        }]})
    }

    /// The discovery document of the issuer at `issuer`: the JWKS, and the authorization
    /// and token endpoints the IG console signs in through (public client, PKCE S256).
    pub fn discovery(&self, issuer: &str) -> serde_json::Value {
        json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/jwks"),
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "profile"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["EdDSA"],
            "msht_hub_dev_issuer": "LOCAL DEVELOPMENT ISSUER: tokens are minted by `msht-hub dev-token` and its sign-in page signs in any demo officer without a password; never use in production",
        })
    }

    /// Mints an OpenID Connect ID token for the IG console.
    pub fn mint_id_token(&self, grant: &DevGrant, now: DateTime<Utc>) -> Result<String, AppError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("JWT".to_owned());
        header.kid = Some(self.kid.clone());
        let iat = now.timestamp();
        let claims = json!({
            "iss": grant.issuer,
            "sub": grant.subject,
            "aud": grant.client_id,
            "iat": iat,
            "exp": iat + 300,
            "nonce": grant.nonce,
            "name": grant.name,
            "roles": [grant.role.as_str()],
        });
        jsonwebtoken::encode(&header, &claims, &self.signing).map_err(AppError::internal)
    }

    /// Mints an RFC 9068 access token.
    pub fn mint(
        &self,
        issuer: &str,
        subject: &str,
        roles: &[Role],
        now: DateTime<Utc>,
        lifetime_secs: i64,
    ) -> Result<String, AppError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(self.kid.clone());
        let iat = now.timestamp();
        let claims = json!({
            "iss": issuer,
            "sub": subject,
            "aud": DEV_AUDIENCE,
            "iat": iat,
            "nbf": iat,
            "exp": iat + lifetime_secs,
            "jti": uuid::Uuid::new_v4().to_string(),
            "client_id": "msht-hub-dev-token",
            "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        });
        jsonwebtoken::encode(&header, &claims, &self.signing).map_err(AppError::internal)
    }
}

/// What a dev issuer's sign-in page granted: redeemed once at its token endpoint.
#[derive(Debug, Clone)]
pub struct DevGrant {
    pub issuer: String,
    pub subject: String,
    pub name: String,
    pub role: Role,
    pub client_id: String,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    /// The PKCE S256 challenge the code must be redeemed with.
    pub code_challenge: String,
    pub expires_at: DateTime<Utc>,
}

/// The dev issuers' authorization codes, kept in memory for a minute each.
#[derive(Default)]
pub struct DevGrants(std::sync::Mutex<std::collections::HashMap<String, DevGrant>>);

/// The most codes kept at once (older ones are dropped first when full).
const MAX_GRANTS: usize = 1000;

impl DevGrants {
    /// Keeps `grant` under a fresh code, and returns the code.
    pub fn issue(&self, grant: DevGrant, now: DateTime<Utc>) -> String {
        let mut bytes = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let code = URL_SAFE_NO_PAD.encode(bytes);
        let mut map = match self.0.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.retain(|_, g| g.expires_at > now);
        if map.len() >= MAX_GRANTS {
            map.clear();
        }
        map.insert(code.clone(), grant);
        code
    }

    /// Takes the grant of `code` when it is unexpired and `verifier` answers its challenge.
    pub fn redeem(&self, code: &str, verifier: &str, now: DateTime<Utc>) -> Option<DevGrant> {
        let mut map = match self.0.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let grant = map.remove(code)?;
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        (grant.expires_at > now && challenge == grant.code_challenge).then_some(grant)
    }
}

/// Writes the state file for `dev-token`.
pub fn write_state(data_dir: &Path, state: &DevState) -> Result<(), AppError> {
    std::fs::create_dir_all(dir(data_dir)).map_err(AppError::internal)?;
    let json = serde_json::to_vec_pretty(state)?;
    std::fs::write(dir(data_dir).join("state.json"), json).map_err(AppError::internal)
}

/// Reads the state file written by `serve --dev`.
pub fn read_state(data_dir: &Path) -> Result<DevState, AppError> {
    let path = dir(data_dir).join("state.json");
    let bytes = std::fs::read(&path).map_err(|_| {
        AppError::Config(format!(
            "no dev issuer state at {}: run `msht-hub serve --dev` with this --data-dir first",
            path.display()
        ))
    })?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// Writes a private file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(AppError::internal)?;
    f.write_all(bytes).map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_redeemed_once_with_their_verifier() {
        let now: DateTime<Utc> = "2026-06-01T09:00:00Z".parse().unwrap();
        let grants = DevGrants::default();
        let verifier = "a-verifier-of-forty-three-characters-012345";
        let grant = DevGrant {
            issuer: "http://x/dev-issuer/police".into(),
            subject: "s".into(),
            name: "n".into(),
            role: Role::IgOfficer,
            client_id: DEV_CONSOLE_CLIENT.into(),
            redirect_uri: "http://x/console/callback".into(),
            nonce: None,
            code_challenge: URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            expires_at: now + chrono::Duration::seconds(60),
        };
        let code = grants.issue(grant.clone(), now);
        assert!(grants.redeem(&code, "wrong", now).is_none());
        let code = grants.issue(grant.clone(), now);
        assert!(grants.redeem(&code, verifier, now).is_some());
        assert!(grants.redeem(&code, verifier, now).is_none(), "used once");
        let code = grants.issue(grant, now);
        let later = now + chrono::Duration::seconds(61);
        assert!(grants.redeem(&code, verifier, later).is_none(), "expired");
    }

    #[test]
    fn key_is_generated_once_and_reused() {
        let d = tempfile::tempdir().unwrap();
        let a = DevIssuer::load_or_create(d.path()).unwrap();
        let b = DevIssuer::load_or_create(d.path()).unwrap();
        assert_eq!(a.kid, b.kid);
        assert_eq!(a.jwks(), b.jwks());
    }
}
