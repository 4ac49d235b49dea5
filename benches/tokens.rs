//! Bearer-token validation cost: what the hub's real validation path
//! (`Authenticator::authenticate`) costs per request, for RS256 and EdDSA:
//! - cold: every token is new to the hub, so it is verified from scratch (registry look-up,
//!   cached issuer keys, signature, claims, roles) and then kept in the token cache;
//! - warm: the same tokens again, answered from the token cache (keyed hash, expiry and
//!   registration checks).
//!
//! Cold is measured on one thread, warm on one and on two.
//!
//! Run: `cargo bench --bench tokens`. The issuer is a local HTTP server serving discovery
//! and a JWKS; keys are fetched once, as in production.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use msht_hub::clock::Clock;
use msht_hub::config::{Overrides, Settings};
use msht_hub::domain::role::Role;
use msht_hub::identity::registry::{IssuerEntry, Registry};
use msht_hub::identity::Authenticator;
use msht_hub::store::Db;
use serde_json::json;

const RSA_PEM: &str = include_str!("fixtures/bench-rsa-2048.pem");
const RSA_N: &str = include_str!("fixtures/bench-rsa-2048.n");

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let ed = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let ed_enc = EncodingKey::from_ed_der(ed.to_pkcs8_der().unwrap().as_bytes());
    let rsa_enc = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let jwks = json!({"keys": [
        {"kty": "RSA", "kid": "rsa", "alg": "RS256", "use": "sig", "n": RSA_N.trim(), "e": "AQAB"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "alg": "EdDSA", "use": "sig",
         "x": URL_SAFE_NO_PAD.encode(ed.verifying_key().to_bytes())},
    ]});
    let discovery = json!({
        "issuer": issuer, "jwks_uri": format!("{issuer}/jwks"),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
    });
    let server = HttpServer::new(move || {
        let (d, j) = (discovery.clone(), jwks.clone());
        App::new()
            .route(
                "/.well-known/openid-configuration",
                web::get().to(move || {
                    let d = d.clone();
                    async move { HttpResponse::Ok().json(d) }
                }),
            )
            .route(
                "/jwks",
                web::get().to(move || {
                    let j = j.clone();
                    async move { HttpResponse::Ok().json(j) }
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);

    let dir = tempfile::tempdir().unwrap();
    let o = Overrides {
        data_dir: Some(dir.path().into()),
        ..Overrides::default()
    };
    let mut settings = Settings::load_with_env(&o, Some(Default::default())).unwrap();
    settings.identity.allow_http_issuers = true;
    let db = Db::open(&settings.effective_database_url(), &settings.database).unwrap();
    let entry = IssuerEntry {
        issuer: issuer.clone(),
        audience: "bench".into(),
        roles_path: vec!["roles".into()],
        role_map: [("hub_auditor".to_owned(), Role::HubAuditor)]
            .into_iter()
            .collect(),
        accept_jwt_typ: false,
        agency_id: None,
    };
    let registry = Arc::new(Registry::new(db, vec![entry], Duration::from_secs(30)));
    let clock = Clock::system();
    let auth = Arc::new(Authenticator::new(
        registry,
        &settings.identity,
        clock.clone(),
    ));

    println!("bearer-token validation (msht_hub::identity::Authenticator::authenticate)");
    for (name, alg, kid, key, cold_n) in [
        ("RS256 (2048-bit)", Algorithm::RS256, "rsa", &rsa_enc, 3000),
        ("EdDSA (Ed25519)", Algorithm::EdDSA, "ed", &ed_enc, 20_000),
    ] {
        let now = clock.now().timestamp();
        let mint = |i: usize| {
            let mut h = Header::new(alg);
            h.typ = Some("at+jwt".into());
            h.kid = Some(kid.into());
            let claims = json!({"iss": issuer, "sub": format!("user-{i}"), "aud": "bench",
                "iat": now, "exp": now + 3600, "roles": ["hub_auditor"], "jti": i});
            jsonwebtoken::encode(&h, &claims, key).unwrap()
        };
        let tokens: Arc<Vec<String>> = Arc::new((0..200).map(mint).collect());
        let cold: Vec<String> = (1000..1000 + cold_n).map(mint).collect();
        // Warm up: the first call discovers the issuer and fetches its keys.
        auth.authenticate(&tokens[0]).await.unwrap();

        // Cold: each token seen for the first time.
        let started = Instant::now();
        for t in &cold {
            std::hint::black_box(auth.authenticate(t).await.unwrap());
        }
        let cold_rate = cold.len() as f64 / started.elapsed().as_secs_f64();

        // Warm: the same 200 tokens over and over (cache hits after the first pass).
        let single = measure(&auth, &tokens, Duration::from_secs(2)).await;
        let mut handles = Vec::new();
        for _ in 0..2 {
            let (auth, tokens) = (auth.clone(), tokens.clone());
            handles.push(std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(measure(&auth, &tokens, Duration::from_secs(2)))
            }));
        }
        let both: f64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        println!(
            "  {name:<18} cold (verified, then kept): {cold_rate:>8.0}/s ({:>6.2} us each) | \
             warm (token cache): {single:>9.0}/s ({:>5.2} us each), 2 threads: {both:>9.0}/s",
            1e6 / cold_rate,
            1e6 / single
        );
    }
    println!("  (tokens kept now: {})", auth.cached_tokens());
}

/// Validates tokens round-robin for `for_` and returns tokens per second.
async fn measure(auth: &Authenticator, tokens: &[String], for_: Duration) -> f64 {
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < for_ {
        for t in tokens.iter().take(200) {
            let p = auth.authenticate(t).await.unwrap();
            std::hint::black_box(p);
            n += 1;
        }
    }
    n as f64 / started.elapsed().as_secs_f64()
}
