//! The token attack suite: every way a bearer token can be wrong is a 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"`, and key rotation needs no restart.
use hmac::Mac;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, Options, TestAgency, TestApp, AUDIENCE};
use crate::issuer::{raw_token, Key};

async fn me(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.get("/me", token).await
}

async fn assert_401(app: &TestApp, token: &str, why: &str) {
    let resp = app.request(reqwest::Method::GET, "/me", token, None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{why}");
    assert_eq!(
        resp.headers().get("www-authenticate").unwrap(),
        r#"Bearer error="invalid_token""#,
        "{why}"
    );
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], 401, "{why}");
}

async fn setup() -> (TestApp, TestAgency, TestAgency) {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    (app, a, b)
}

fn name_of(agency: &TestAgency) -> String {
    agency.issuer.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_valid_token_names_its_agency_and_roles() {
    let (app, a, _) = setup().await;
    let r = me(&app, &app.token(&a, &["practitioner", "not-a-hub-role"])).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["agency_id"], a.id.as_str());
    assert_eq!(r.1["agency_name"], "Agency A");
    assert_eq!(r.1["issuer"], a.issuer.as_str());
    assert_eq!(r.1["subject"], "user-1");
    assert_eq!(r.1["roles"], json!(["practitioner"]));
}

#[tokio::test]
async fn missing_and_malformed_tokens_are_refused() {
    let (app, _, _) = setup().await;
    assert_401(&app, "", "no token").await;
    assert_401(&app, "not-a-jwt", "garbage").await;
    let resp = app
        .client
        .get(format!("{}/me", app.api))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let (app, a, _) = setup().await;
    let claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    let token = raw_token(&json!({"alg": "none", "typ": "at+jwt"}), &claims, b"");
    assert_401(&app, &token, "alg none").await;
    let token = raw_token(&json!({"alg": "none", "typ": "at+jwt"}), &claims, b"x");
    assert_401(&app, &token, "alg none with signature").await;
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let (app, a, _) = setup().await;
    let claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": format!("{}-k1", name_of(&a))});
    let public = app.issuers.public_key(&name_of(&a));
    let unsigned = {
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}",
            e.encode(serde_json::to_vec(&header).unwrap()),
            e.encode(serde_json::to_vec(&claims).unwrap())
        )
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&public).unwrap();
    mac.update(unsigned.as_bytes());
    let sig = mac.finalize().into_bytes();
    let token = raw_token(&header, &claims, &sig);
    assert_401(&app, &token, "HS256 with public key").await;
}

#[tokio::test]
async fn wrong_or_unregistered_issuers_are_refused() {
    let (app, a, b) = setup().await;
    // A's key, but the token claims B's issuer: B's keys do not verify it.
    let claims = app.claims(&b.issuer, "user-1", &["practitioner"]);
    assert_401(
        &app,
        &app.issuers.sign(&name_of(&a), &claims),
        "iss of another agency",
    )
    .await;
    // An issuer that exists but was never registered with the hub.
    let stranger = app.issuers.add("stranger");
    let claims = app.claims(&stranger, "user-1", &["practitioner"]);
    assert_401(
        &app,
        &app.issuers.sign("stranger", &claims),
        "unregistered issuer",
    )
    .await;
    // No iss at all.
    let mut claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    claims.as_object_mut().unwrap().remove("iss");
    assert_401(&app, &app.issuers.sign(&name_of(&a), &claims), "no iss").await;
    // iss with a trailing slash is not the registered issuer.
    let claims = app.claims(&format!("{}/", a.issuer), "user-1", &["practitioner"]);
    assert_401(
        &app,
        &app.issuers.sign(&name_of(&a), &claims),
        "iss not exact",
    )
    .await;
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let (app, a, _) = setup().await;
    app.issuers
        .claim_issuer(&name_of(&a), "https://impostor.example.org");
    assert_401(
        &app,
        &app.token(&a, &["practitioner"]),
        "discovery issuer mismatch",
    )
    .await;
}

#[tokio::test]
async fn audience_must_be_present_and_right() {
    let (app, a, _) = setup().await;
    let mut claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    claims.as_object_mut().unwrap().remove("aud");
    assert_401(
        &app,
        &app.issuers.sign(&name_of(&a), &claims),
        "aud missing",
    )
    .await;
    claims["aud"] = json!("another-api");
    assert_401(&app, &app.issuers.sign(&name_of(&a), &claims), "aud wrong").await;
    claims["aud"] = json!(["another-api", AUDIENCE]);
    assert_eq!(
        me(&app, &app.issuers.sign(&name_of(&a), &claims)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn expiry_and_not_before_follow_the_hub_clock() {
    let (app, a, _) = setup().await;
    let mut claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    let now = app.clock.now().timestamp();
    claims["exp"] = json!(now - 120);
    assert_401(&app, &app.issuers.sign(&name_of(&a), &claims), "expired").await;
    claims["exp"] = json!(now + 600);
    claims["nbf"] = json!(now + 300);
    assert_401(
        &app,
        &app.issuers.sign(&name_of(&a), &claims),
        "nbf in the future",
    )
    .await;
    claims.as_object_mut().unwrap().remove("exp");
    claims["nbf"] = json!(now);
    assert_401(&app, &app.issuers.sign(&name_of(&a), &claims), "no exp").await;
    // A good token stops working when the clock passes its expiry.
    let token = app.token(&a, &["practitioner"]);
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);
    app.clock.advance(chrono::Duration::minutes(15));
    assert_401(&app, &token, "expired after the clock moved").await;
}

#[tokio::test]
async fn unknown_signing_key_is_refused() {
    let (app, a, _) = setup().await;
    let stray = Key::generate(&format!("{}-k1", name_of(&a)));
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(stray.kid.clone());
    let claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    let token = jsonwebtoken::encode(&header, &claims, &stray.encoding()).unwrap();
    assert_401(&app, &token, "same kid, different key").await;
    header.kid = Some("nobody-knows".into());
    let token = jsonwebtoken::encode(&header, &claims, &stray.encoding()).unwrap();
    assert_401(&app, &token, "unknown kid").await;
}

#[tokio::test]
async fn a_token_cannot_act_for_another_agency() {
    let (app, a, b) = setup().await;
    // A forged agency claim inside A's token is ignored: the issuer decides the agency.
    let mut claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    claims["agency_id"] = json!(b.id);
    let r = me(&app, &app.issuers.sign(&name_of(&a), &claims)).await;
    assert_eq!(r.1["agency_id"], a.id.as_str());
    // Editing A's valid token to claim B breaks the signature.
    let token = app.token(&a, &["practitioner"]);
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = app.claims(&b.issuer, "user-1", &["practitioner"]);
    forged["agency_id"] = json!(b.id);
    let body = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&forged).unwrap())
    };
    let tampered = format!("{}.{}.{}", parts[0], body, parts[2]);
    assert_401(&app, &tampered, "payload swapped for agency B").await;
}

#[tokio::test]
async fn subject_is_required() {
    let (app, a, _) = setup().await;
    let mut claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    claims.as_object_mut().unwrap().remove("sub");
    assert_401(&app, &app.issuers.sign(&name_of(&a), &claims), "no sub").await;
    claims["sub"] = json!("");
    assert_401(&app, &app.issuers.sign(&name_of(&a), &claims), "empty sub").await;
}

#[tokio::test]
async fn typ_must_be_at_jwt_unless_the_issuer_accepts_jwt() {
    let (app, a, _) = setup().await;
    let claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    let n = name_of(&a);
    assert_401(
        &app,
        &app.issuers.sign_typed(&n, &claims, Some("JWT")),
        "typ JWT",
    )
    .await;
    assert_401(&app, &app.issuers.sign_typed(&n, &claims, None), "no typ").await;
    let ok = app
        .issuers
        .sign_typed(&n, &claims, Some("application/at+jwt"));
    assert_eq!(me(&app, &ok).await.0, StatusCode::OK);
    // Registering the issuer with accept_jwt_typ lets plain JWT through.
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/agencies/{}/identity-provider", a.id),
            &app.admin(),
            Some(
                json!({"issuer": a.issuer, "audience": AUDIENCE, "roles_claim": "roles",
                        "role_map": {"practitioner": "practitioner"}, "accept_jwt_typ": true}),
            ),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = me(&app, &app.issuers.sign_typed(&n, &claims, Some("JWT"))).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
}

#[tokio::test]
async fn a_rotated_key_is_accepted_without_restart() {
    let (app, a, _) = setup().await;
    assert_eq!(
        me(&app, &app.token(&a, &["practitioner"])).await.0,
        StatusCode::OK
    );
    let hits = app.issuers.jwks_hits(&name_of(&a));
    app.issuers.rotate(&name_of(&a));
    let r = me(&app, &app.token(&a, &["practitioner"])).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(
        app.issuers.jwks_hits(&name_of(&a)),
        hits + 1,
        "one refresh for the new kid"
    );
}

#[tokio::test]
async fn unknown_kids_refresh_at_most_once_per_interval() {
    let app = TestApp::spawn_with(Options {
        jwks_min_refresh_secs: 3600,
        ..Options::default()
    })
    .await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    assert_eq!(
        me(&app, &app.token(&a, &["practitioner"])).await.0,
        StatusCode::OK
    );
    let hits = app.issuers.jwks_hits(&name_of(&a));
    let claims = app.claims(&a.issuer, "user-1", &["practitioner"]);
    for i in 0..5 {
        let stray = Key::generate(&format!("forged-{i}"));
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.typ = Some("at+jwt".into());
        header.kid = Some(stray.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &stray.encoding()).unwrap();
        assert_401(&app, &token, "forged kid").await;
    }
    assert_eq!(
        app.issuers.jwks_hits(&name_of(&a)),
        hits,
        "no refresh inside the interval"
    );
}

#[tokio::test]
async fn roles_come_from_the_configured_claim_path() {
    let (app, a, _) = setup().await;
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/agencies/{}/identity-provider", a.id),
            &app.admin(),
            Some(json!({"issuer": a.issuer, "audience": AUDIENCE,
                        "roles_claim": "realm_access.roles",
                        "role_map": {"msht-ig": "ig_officer"}})),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let mut claims = app.claims(&a.issuer, "user-1", &[]);
    claims["realm_access"] = json!({"roles": ["msht-ig", "offline_access"]});
    let r = me(&app, &app.issuers.sign(&name_of(&a), &claims)).await;
    assert_eq!(r.1["roles"], json!(["ig_officer"]), "{}", r.1);
}

#[tokio::test]
async fn an_agency_issuer_cannot_grant_operator_roles() {
    let (app, a, _) = setup().await;
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/agencies/{}/identity-provider", a.id),
            &app.admin(),
            Some(json!({"issuer": a.issuer, "audience": AUDIENCE,
                        "role_map": {"boss": "hub_admin"}})),
        )
        .await;
    assert_problem(&r, 422);
    assert_eq!(r.1["errors"][0]["pointer"], "/role_map/boss");
    // A token asking for hub_admin from an agency issuer gets no such role.
    let token = app.token(&a, &["hub_admin"]);
    let r = app
        .post(
            "/agencies",
            &token,
            json!({"name": "X", "kind": "ngo", "areas": ["E08000025"],
                                          "contact_email": "x@example.org"}),
        )
        .await;
    assert_problem(&r, 403);
}
