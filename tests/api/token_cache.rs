//! Tokens verified once and issuers asked sparingly: a kept token still follows the hub's
//! clock and its issuer's registration and keys; unknown issuers and failing discoveries do
//! not cost a query or a fetch per token; discovery documents are size-bounded; untrusted
//! header values reach the log cut and cleaned.
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Options, TestAgency, TestApp, AUDIENCE};
use crate::issuer::Key;

fn name_of(agency: &TestAgency) -> String {
    agency.issuer.rsplit('/').next().unwrap().to_owned()
}

async fn me(app: &TestApp, token: &str) -> StatusCode {
    app.get("/me", token).await.0
}

async fn register(app: &TestApp, agency: &TestAgency, issuer: &str, audience: &str) {
    let r = app
        .send(
            Method::PUT,
            &format!("/agencies/{}/identity-provider", agency.id),
            &app.admin(),
            Some(
                json!({"issuer": issuer, "audience": audience, "roles_claim": "roles",
                        "role_map": {"practitioner": "practitioner"}}),
            ),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
}

#[tokio::test]
async fn an_expired_token_is_refused_on_a_cache_hit() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let mut claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    claims["exp"] = json!(app.clock.now().timestamp() + 20);
    let token = app.issuers.sign(&name_of(&a), &claims);
    assert_eq!(me(&app, &token).await, StatusCode::OK);
    let kept = app.state.auth.cached_tokens();
    assert!(kept >= 1, "the verified token is kept");
    assert_eq!(me(&app, &token).await, StatusCode::OK);
    assert_eq!(
        app.state.auth.cached_tokens(),
        kept,
        "answered from the cache"
    );
    // Past exp plus the allowed skew (30 s): refused although it is kept.
    app.clock.advance(chrono::Duration::seconds(51));
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_changed_or_revoked_issuer_registration_invalidates_kept_tokens() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let token = app.token(&a, &["practitioner"]);
    assert_eq!(me(&app, &token).await, StatusCode::OK);
    assert_eq!(me(&app, &token).await, StatusCode::OK);
    // The registration now names another audience: the kept token is not accepted.
    register(&app, &a, &a.issuer, "another-api").await;
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
    register(&app, &a, &a.issuer, AUDIENCE).await;
    assert_eq!(me(&app, &token).await, StatusCode::OK);
    // The agency moves to another issuer: tokens of the old one stop working at once.
    let other = app.issuers.add("moved-to");
    register(&app, &a, &other, AUDIENCE).await;
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_replaced_key_set_invalidates_kept_tokens() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let n = name_of(&a);
    let old = app.token(&a, &["practitioner"]);
    assert_eq!(me(&app, &old).await, StatusCode::OK);
    // The issuer drops its key for a new one; a token with the new kid makes the hub refetch.
    app.issuers
        .with(&n, |s| s.keys = vec![Key::generate(&format!("{n}-k9"))]);
    assert_eq!(
        me(&app, &app.token(&a, &["practitioner"])).await,
        StatusCode::OK
    );
    assert_eq!(me(&app, &old).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_issuers_cost_one_lookup_until_one_is_registered() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let stranger = app.issuers.add("stranger");
    let claims = app.claims(&stranger, "user-1", &["practitioner"]);
    let token = app.issuers.sign("stranger", &claims);
    let registry = &app.state.auth.registry;
    let before = registry.db_lookups();
    for _ in 0..5 {
        assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        registry.db_lookups(),
        before + 1,
        "one query for five tokens"
    );
    // Registering it here forgets that it was unknown.
    register(&app, &a, &stranger, AUDIENCE).await;
    assert_eq!(me(&app, &token).await, StatusCode::OK);
}

#[tokio::test]
async fn a_failing_discovery_is_not_fetched_again_for_every_token() {
    let app = TestApp::spawn_with(
        Options::default().with_env("MSHT_HUB__IDENTITY__DISCOVERY_RETRY_MIN_MS", "300"),
    )
    .await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let n = name_of(&a);
    app.issuers.with(&n, |s| s.failing = true);
    for _ in 0..5 {
        assert_eq!(
            me(&app, &app.token(&a, &["practitioner"])).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(app.issuers.with(&n, |s| s.discovery_hits), 1);
    // Back up: after the retry interval the next token is checked again and accepted.
    app.issuers.with(&n, |s| s.failing = false);
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    assert_eq!(
        me(&app, &app.token(&a, &["practitioner"])).await,
        StatusCode::OK
    );
    assert_eq!(app.issuers.with(&n, |s| s.discovery_hits), 2);
}

#[tokio::test]
async fn discovery_documents_beyond_the_size_limit_are_refused() {
    let app = TestApp::spawn_with(
        Options::default().with_env("MSHT_HUB__IDENTITY__MAX_DOCUMENT_BYTES", "8192"),
    )
    .await;
    let small = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let big = app.agency("Agency B", "mash", &["E08000025"]).await;
    app.issuers.with(&name_of(&big), |s| s.padding = 20_000);
    assert_eq!(
        me(&app, &app.token(&small, &["practitioner"])).await,
        StatusCode::OK
    );
    let r = app
        .state
        .auth
        .authenticate(&app.token(&big, &["practitioner"]))
        .await;
    let failure = r.expect_err("an oversized discovery document is refused");
    assert!(
        failure.reason.contains("larger than 8192 bytes"),
        "{failure:?}"
    );
}

#[tokio::test]
async fn untrusted_kid_and_typ_reach_the_log_cut_and_cleaned() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    let evil = format!("x\n\u{1b}[31mlevel=ERROR forged {}", "A".repeat(5000));
    let typ = app.issuers.sign_typed(&name_of(&a), &claims, Some(&evil));
    let stray = Key::generate(&evil);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(evil.clone());
    let kid = jsonwebtoken::encode(&header, &claims, &stray.encoding()).unwrap();
    for token in [typ, kid] {
        let failure = app.state.auth.authenticate(&token).await.unwrap_err();
        let reason = failure.reason;
        assert!(reason.len() < 120, "{reason}");
        assert!(
            !reason.contains('\n') && !reason.contains('\u{1b}'),
            "{reason}"
        );
        assert!(!reason.contains("level=ERROR forged"), "{reason}");
    }
}
