//! Interoperability with a real OpenID provider (oidc-provider, started by `.ci/run`): it is
//! registered as an agency's issuer, a client-credentials JWT access token is obtained from
//! it, and the hub accepts it. Ignored unless run with `--ignored interop_oidc`.
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} must be set (.ci/run starts oidc-provider)"))
}

async fn client_credentials(issuer: &str, client: &str, secret: &str, audience: &str) -> String {
    let http = reqwest::Client::new();
    let discovery: Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_endpoint = discovery["token_endpoint"].as_str().unwrap();
    let resp: Value = http
        .post(token_endpoint)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("resource", audience),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {resp}"))
        .to_owned()
}

#[tokio::test]
#[ignore = "needs a real OpenID provider; .ci/run starts one"]
async fn interop_oidc_client_credentials_token_is_accepted() {
    let issuer = env("MSHT_HUB_TEST_OIDC_ISSUER");
    let client = env("MSHT_HUB_TEST_OIDC_CLIENT_ID");
    let secret = env("MSHT_HUB_TEST_OIDC_CLIENT_SECRET");
    let audience = env("MSHT_HUB_TEST_OIDC_AUDIENCE");
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/agencies",
            &app.admin(),
            json!({"name": "Interop NGO", "kind": "ngo",
              "areas": ["E08000025"], "contact_email": "ngo@example.org", "first_responder": true}),
        )
        .await;
    let id = r.1["id"].as_str().unwrap().to_owned();
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/agencies/{id}/identity-provider"),
            &app.admin(),
            Some(
                json!({"issuer": issuer, "audience": audience, "roles_claim": "roles",
                          "role_map": {"practitioner": "practitioner"}}),
            ),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);

    let token = client_credentials(&issuer, &client, &secret, &audience).await;
    // The provider's token is real: wall-clock times, so the hub's clock follows the wall.
    app.clock.set(msht_hub::clock::Clock::system().now());
    let r = app.get("/me", &token).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["agency_id"], id.as_str());
    assert_eq!(r.1["subject"], client.as_str());
    assert_eq!(r.1["roles"], json!(["practitioner"]));

    // The same token one character off is refused.
    let mut bad = token.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(app.get("/me", &bad).await.0, StatusCode::UNAUTHORIZED);
    // And an hour later it has expired.
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(app.get("/me", &token).await.0, StatusCode::UNAUTHORIZED);
}
