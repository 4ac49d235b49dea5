//! The IG console as an OpenID Connect relying party of each agency's own issuer: the
//! authorization code flow with PKCE (S256), `state` and `nonce`, through the openidconnect
//! crate. Discovery and the JWKS are fetched with the hub's bounded HTTP client
//! ([`super::fetch`]); the discovery document's `issuer` must equal the registered issuer.
//! The ID token is checked for its signature (by a key of the issuer's JWKS, asymmetric
//! algorithms only), `iss`, `aud` (the console's client id), `exp` against the hub's clock and
//! the `nonce` this sign-in sent; its roles are then read through the registration's
//! `roles_claim` and `role_map`, exactly as for bearer tokens.
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, Scope, TokenResponse,
};
use serde_json::{Map, Value};

use super::claims;
use super::fetch::BoundedHttp;
use super::registry::IssuerEntry;
use super::Principal;
use crate::clock::Clock;
use crate::config::IdentitySettings;

/// The ID token algorithms the console accepts (the same as for bearer tokens: never `none`,
/// never HMAC with the client secret).
const ID_TOKEN_ALGORITHMS: [CoreJwsSigningAlgorithm; 4] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// The console's client at one issuer, as registered.
#[derive(Clone)]
pub struct ConsoleClientConfig {
    pub issuer: IssuerEntry,
    pub client_id: String,
    /// Already opened (it was sealed at rest); never logged.
    pub client_secret: Option<String>,
    pub redirect_uri: String,
}

impl std::fmt::Debug for ConsoleClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleClientConfig")
            .field("issuer", &self.issuer.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// Where to send the browser, and what the callback must find again.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Why a sign-in was refused. The category goes to the audit log; the detail only to the
/// trace (it never holds a token or a code).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{category}: {detail}")]
pub struct SignInFailure {
    pub category: &'static str,
    pub detail: String,
}

impl SignInFailure {
    pub fn new(category: &'static str, detail: impl Into<String>) -> Self {
        SignInFailure {
            category,
            detail: detail.into(),
        }
    }
}

/// Who signed in, from a verified ID token.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    /// `name`, else `preferred_username`, else the subject.
    pub display_name: String,
}

/// The relying party: discovery through the hub's HTTP client, the clock for `exp`.
pub struct RelyingParty {
    http: BoundedHttp,
    clock: Clock,
    skew: i64,
}

fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

impl RelyingParty {
    pub fn new(settings: &IdentitySettings, clock: Clock) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(settings.fetch_timeout_secs))
            .build()
            .unwrap_or_default();
        RelyingParty {
            http: BoundedHttp::new(client, settings.max_document_bytes),
            clock,
            skew: settings.clock_skew_secs,
        }
    }

    async fn discover(&self, issuer: &str) -> Result<ProviderMetadataWithLogout, SignInFailure> {
        let url = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| SignInFailure::new("discovery_failed", e.to_string()))?;
        ProviderMetadataWithLogout::discover_async(url, &self.http)
            .await
            .map_err(|e| SignInFailure::new("discovery_failed", describe(&e)))
    }

    fn redirect(c: &ConsoleClientConfig) -> Result<RedirectUrl, SignInFailure> {
        RedirectUrl::new(c.redirect_uri.clone())
            .map_err(|e| SignInFailure::new("misconfigured", e.to_string()))
    }

    /// The authorization request for a new sign-in: fresh state, nonce and PKCE verifier.
    pub async fn authorize(&self, c: &ConsoleClientConfig) -> Result<Authorization, SignInFailure> {
        let metadata = self.discover(&c.issuer.issuer).await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(c.client_id.clone()),
            c.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(Self::redirect(c)?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges `code` (with the sign-in's PKCE verifier) and verifies the ID token against
    /// the sign-in's `nonce`.
    pub async fn complete(
        &self,
        c: &ConsoleClientConfig,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<SignedIn, SignInFailure> {
        let metadata = self.discover(&c.issuer.issuer).await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(c.client_id.clone()),
            c.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(Self::redirect(c)?);
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SignInFailure::new("misconfigured", e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        let response: CoreTokenResponse = request
            .request_async(&self.http)
            .await
            .map_err(|e| SignInFailure::new("token_exchange_failed", describe(&e)))?;
        let id_token = response.id_token().ok_or_else(|| {
            SignInFailure::new("no_id_token", "the token response has no id_token")
        })?;
        let now = self.clock.now();
        let skew = chrono::Duration::seconds(self.skew);
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(ID_TOKEN_ALGORITHMS)
            .set_time_fn(move || now - skew);
        let expected = Nonce::new(nonce.to_owned());
        let verified = id_token.claims(&verifier, &expected).map_err(|e| match e {
            ClaimsVerificationError::InvalidNonce(d) => SignInFailure::new("nonce_mismatch", d),
            ClaimsVerificationError::Expired(d) => SignInFailure::new("id_token_expired", d),
            other => SignInFailure::new("id_token_rejected", describe(&other)),
        })?;
        let iat = verified.issue_time().timestamp();
        if iat > now.timestamp().saturating_add(self.skew) {
            return Err(SignInFailure::new(
                "id_token_rejected",
                "issued in the future",
            ));
        }
        let subject = verified.subject().as_str().to_owned();
        if subject.is_empty() || subject.len() > 255 {
            return Err(SignInFailure::new("id_token_rejected", "sub"));
        }
        // The signature over these bytes was just verified; read every claim from them for
        // the role claim, which may be any dotted path.
        let raw = raw_claims(&id_token.to_string())
            .ok_or_else(|| SignInFailure::new("id_token_rejected", "unreadable claims"))?;
        let roles = claims::roles(&raw, &c.issuer.roles_path, &c.issuer.role_map);
        let display_name = ["name", "preferred_username"]
            .iter()
            .find_map(|k| raw.get(*k).and_then(Value::as_str))
            .filter(|n| !n.trim().is_empty())
            .map(|n| n.chars().take(200).collect::<String>())
            .unwrap_or_else(|| subject.clone());
        Ok(SignedIn {
            principal: Principal {
                issuer: c.issuer.issuer.clone(),
                subject,
                agency_id: c.issuer.agency_id,
                roles,
                client_id: Some(c.client_id.clone()),
            },
            display_name,
        })
    }

    /// The issuer's end-session URL for a signed-out browser, when its discovery document
    /// names one (RP-initiated logout: the client id and where to come back; no token in the
    /// URL).
    pub async fn end_session_url(
        &self,
        c: &ConsoleClientConfig,
        post_logout: &str,
    ) -> Option<String> {
        let metadata = self.discover(&c.issuer.issuer).await.ok()?;
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let mut request = openidconnect::LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(c.client_id.clone()));
        if let Ok(u) = url::Url::parse(post_logout) {
            request = request.set_post_logout_redirect_uri(PostLogoutRedirectUrl::from_url(u));
        }
        Some(request.http_get_url().to_string())
    }
}

/// The claims of a compact JWS, as a JSON object.
fn raw_claims(compact: &str) -> Option<Map<String, Value>> {
    let payload = compact.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_claims_read_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"a","realm_access":{"roles":["x"]}}"#);
        let m = raw_claims(&format!("e30.{payload}.sig")).unwrap();
        assert_eq!(m["sub"], "a");
        assert!(raw_claims("nonsense").is_none());
        assert!(raw_claims("e30.bm90IGpzb24.sig").is_none());
    }
}
