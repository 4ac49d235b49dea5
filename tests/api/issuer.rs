//! A test OpenID issuer standing in for agencies' identity providers: it serves discovery and
//! a JWKS for any number of named issuers, mints EdDSA access tokens, rotates keys and counts
//! JWKS fetches. Only the peer is a fixture; the hub checks its tokens on its real path.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub struct Key {
    pub kid: String,
    pub private: SigningKey,
}

impl Key {
    pub fn generate(kid: &str) -> Key {
        Key {
            kid: kid.to_owned(),
            private: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    pub fn encoding(&self) -> EncodingKey {
        EncodingKey::from_ed_der(self.private.to_pkcs8_der().unwrap().as_bytes())
    }

    pub fn public_bytes(&self) -> [u8; 32] {
        self.private.verifying_key().to_bytes()
    }

    pub fn jwk(&self) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": self.kid,
               "x": URL_SAFE_NO_PAD.encode(self.public_bytes())})
    }
}

#[derive(Default)]
pub struct IssuerState {
    pub keys: Vec<Key>,
    pub jwks_hits: usize,
    /// When set, discovery claims this issuer instead of its own URL.
    pub claimed_issuer: Option<String>,
    pub discovery_hits: usize,
    /// When set, discovery answers 500.
    pub failing: bool,
    /// Bytes of padding added to the discovery document.
    pub padding: usize,
}

/// The fixture server.
pub struct TestIssuers {
    pub base: String,
    pub state: Arc<Mutex<HashMap<String, IssuerState>>>,
    pub handle: actix_web::dev::ServerHandle,
}

async fn discovery(
    st: web::Data<Arc<Mutex<HashMap<String, IssuerState>>>>,
    base: web::Data<String>,
    name: web::Path<String>,
) -> HttpResponse {
    let mut map = st.lock().unwrap();
    let Some(s) = map.get_mut(name.as_str()) else {
        return HttpResponse::NotFound().finish();
    };
    s.discovery_hits += 1;
    if s.failing {
        return HttpResponse::InternalServerError().finish();
    }
    let own = format!("{}/{}", base.as_str(), name);
    let issuer = s.claimed_issuer.clone().unwrap_or_else(|| own.clone());
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{own}/jwks"),
        "authorization_endpoint": format!("{own}/authorize"),
        "token_endpoint": format!("{own}/token"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "padding": " ".repeat(s.padding),
    }))
}

async fn jwks(
    st: web::Data<Arc<Mutex<HashMap<String, IssuerState>>>>,
    name: web::Path<String>,
) -> HttpResponse {
    let mut map = st.lock().unwrap();
    let Some(s) = map.get_mut(name.as_str()) else {
        return HttpResponse::NotFound().finish();
    };
    s.jwks_hits += 1;
    let keys: Vec<Value> = s.keys.iter().map(Key::jwk).collect();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

impl TestIssuers {
    pub async fn start() -> TestIssuers {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state: Arc<Mutex<HashMap<String, IssuerState>>> = Arc::default();
        let (st, b) = (state.clone(), base.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(st.clone()))
                .app_data(web::Data::new(b.clone()))
                .route(
                    "/{name}/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/{name}/jwks", web::get().to(jwks))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        TestIssuers {
            base,
            state,
            handle,
        }
    }

    /// Adds an issuer with one key and returns its issuer URL.
    pub fn add(&self, name: &str) -> String {
        let mut map = self.state.lock().unwrap();
        map.insert(
            name.to_owned(),
            IssuerState {
                keys: vec![Key::generate(&format!("{name}-k1"))],
                ..Default::default()
            },
        );
        self.url(name)
    }

    pub fn url(&self, name: &str) -> String {
        format!("{}/{}", self.base, name)
    }

    /// Adds a new key (published next to the old ones) and returns its kid.
    pub fn rotate(&self, name: &str) -> String {
        let mut map = self.state.lock().unwrap();
        let s = map.get_mut(name).unwrap();
        let kid = format!("{name}-k{}", s.keys.len() + 1);
        s.keys.push(Key::generate(&kid));
        kid
    }

    pub fn jwks_hits(&self, name: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .get(name)
            .map(|s| s.jwks_hits)
            .unwrap_or(0)
    }

    /// Changes an issuer's state (failing discovery, padding, keys).
    pub fn with<T>(&self, name: &str, f: impl FnOnce(&mut IssuerState) -> T) -> T {
        f(self.state.lock().unwrap().get_mut(name).unwrap())
    }

    pub fn claim_issuer(&self, name: &str, claimed: &str) {
        self.state
            .lock()
            .unwrap()
            .get_mut(name)
            .unwrap()
            .claimed_issuer = Some(claimed.to_owned());
    }

    /// Signs `claims` with the issuer's newest key and the given `typ`.
    pub fn sign_typed(&self, name: &str, claims: &Value, typ: Option<&str>) -> String {
        let map = self.state.lock().unwrap();
        let key = map.get(name).unwrap().keys.last().unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = typ.map(str::to_owned);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding()).unwrap()
    }

    pub fn sign(&self, name: &str, claims: &Value) -> String {
        self.sign_typed(name, claims, Some("at+jwt"))
    }

    /// The newest key's public bytes (for the HMAC key-confusion attack).
    pub fn public_key(&self, name: &str) -> [u8; 32] {
        self.state
            .lock()
            .unwrap()
            .get(name)
            .unwrap()
            .keys
            .last()
            .unwrap()
            .public_bytes()
    }
}

/// Encodes a token from raw parts without signing it properly (for attacks).
pub fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}
