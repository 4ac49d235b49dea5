//! Resource limits at the edge: bounded metrics labels, per-principal rate limits, caps on
//! subscriptions, addresses and list lengths.
use reqwest::{Method, StatusCode};

use crate::helpers::{assert_problem, Options, TestApp};

#[tokio::test]
async fn metrics_labels_bounded_for_invented_methods() {
    let app = TestApp::spawn().await;
    for i in 0..20 {
        let method = Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        let r = app
            .client
            .request(method, format!("{}/me", app.api))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
        let path = format!("{}/no/such/path/{i}", app.api);
        let method = Method::from_bytes(format!("X{i}").as_bytes()).unwrap();
        app.client.request(method, path).send().await.unwrap();
    }
    let text = app.metrics(false).await;
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("msht_hub_http_requests_total{"))
        .collect();
    assert!(
        !text.contains("INVENTED") && !text.contains("method=\"X1"),
        "{text}"
    );
    assert!(!text.contains("/no/such/path"), "{text}");
    assert!(
        series.iter().any(|l| l.contains(r#"method="other""#)),
        "{series:?}"
    );
    let methods: std::collections::BTreeSet<&str> = series
        .iter()
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .collect();
    assert!(methods.len() <= 10, "{methods:?}");
    // Forty distinct invented requests made at most a handful of series.
    assert!(series.len() <= 6, "{series:?}");
}

/// A hub whose principals may make `burst` requests at once and one a second after that.
async fn small_budgets(burst: u32) -> TestApp {
    let b = burst.to_string();
    TestApp::spawn_with(
        Options::default()
            .with_env("MSHT_HUB__RATE_LIMIT__PRINCIPAL_PER_SECOND", "1")
            .with_env("MSHT_HUB__RATE_LIMIT__PRINCIPAL_BURST", &b)
            .with_env("MSHT_HUB__RATE_LIMIT__CLIENT_PER_SECOND", "1")
            .with_env("MSHT_HUB__RATE_LIMIT__CLIENT_BURST", &b),
    )
    .await
}

#[tokio::test]
async fn one_principal_is_rate_limited_many_are_not() {
    let app = small_budgets(30).await;
    // Registering the agency costs the operator 2 requests of its own 30.
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    // Thirty principals of one agency, each well inside its budget, all at once.
    let many = futures_util::future::join_all((0..30).map(|i| {
        let token = app.token_as(&a, &format!("officer-{i}"), &["practitioner"]);
        let app = &app;
        async move {
            let mut statuses = Vec::new();
            for _ in 0..20 {
                statuses.push(app.get("/me", &token).await.0);
            }
            statuses
        }
    }))
    .await;
    assert!(
        many.iter().flatten().all(|s| *s == StatusCode::OK),
        "{many:?}"
    );
    // One principal flooding: the first 30 pass, then 429 with Retry-After as a problem.
    let flood = app.token_as(&a, "flooder", &["practitioner"]);
    let mut limited = None;
    let mut passed = 0;
    for _ in 0..60 {
        let r = app.request(Method::GET, "/me", &flood, None).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        passed += 1;
    }
    let r = limited.expect("the flooding principal was throttled");
    assert!((30..=32).contains(&passed), "{passed}");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_problem(&(StatusCode::TOO_MANY_REQUESTS, body.clone()), 429);
    assert_eq!(body["type"], "urn:msht-hub:problem:rate-limited");
    // Other principals are not affected by the flood.
    let other = app.token_as(&a, "officer-0", &["practitioner"]);
    assert_eq!(app.get("/me", &other).await.0, StatusCode::OK);
    // Without a valid token the budget is the client address's.
    let mut codes = Vec::new();
    for i in 0..40 {
        codes.push(app.get("/me", &format!("junk-{i}")).await.0);
    }
    assert!(codes.contains(&StatusCode::UNAUTHORIZED), "{codes:?}");
    assert!(codes.contains(&StatusCode::TOO_MANY_REQUESTS), "{codes:?}");
}

#[tokio::test]
async fn one_principal_probing_other_agencies_cannot_fill_the_log() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let prober = app.token_as(&a, "prober", &["practitioner"]);
    let size = |app: &TestApp| {
        let db = app.state.db().clone();
        async move {
            db.read(msht_hub::audit::proofs::current_size)
                .await
                .unwrap()
        }
    };
    let before = size(&app).await;
    for _ in 0..100 {
        let id = uuid::Uuid::now_v7();
        let r = app.get(&format!("/incidents/{id}"), &prober).await;
        assert_eq!(r.0, StatusCode::NOT_FOUND);
    }
    // Ten a minute are logged one by one, the rest counted in one summary entry.
    let grown = size(&app).await - before;
    assert_eq!(grown, 10, "{grown} entries for 100 probes");
    app.clock.advance(chrono::Duration::seconds(61));
    app.state.audit_tick().await;
    let grown = size(&app).await - before;
    assert_eq!(grown, 11);
    let denied = crate::audit::all_events(
        &app,
        &crate::audit::auditor(&app),
        "&operation=access_denied&record_kind=refused_requests",
    )
    .await;
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(
        denied[0]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("90 refused request(s) from 1 source(s)"),
        "{denied:?}"
    );
}

fn email_subscription(addresses: &[String]) -> serde_json::Value {
    serde_json::json!({"events": ["incident.notified"],
                       "channel": {"type": "email", "addresses": addresses}})
}

#[tokio::test]
async fn subscriptions_per_agency_capped() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "mash", &["E08000025"]).await;
    let b = app.agency("Agency B", "mash", &["E08000025"]).await;
    let token = app.token(&a, &["practitioner"]);
    let own = vec!["duty@agency.example.org".to_owned()];
    for i in 0..50 {
        let r = app
            .post("/subscriptions", &token, email_subscription(&own))
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{i}: {}", r.1);
    }
    let r = app
        .post("/subscriptions", &token, email_subscription(&own))
        .await;
    assert_eq!(crate::helpers::pointers(&r), vec![""]);
    let detail = r.1["errors"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("limits.subscriptions_per_agency = 50"),
        "{detail}"
    );
    // Another agency is not affected, and removing one makes room again.
    let other = app
        .post(
            "/subscriptions",
            &app.token(&b, &["practitioner"]),
            email_subscription(&own),
        )
        .await;
    assert_eq!(other.0, StatusCode::CREATED, "{}", other.1);
    let list = app.get("/subscriptions?limit=1", &token).await;
    let first = list.1["items"][0]["id"].as_str().unwrap().to_owned();
    let gone = app
        .send(
            Method::DELETE,
            &format!("/subscriptions/{first}"),
            &token,
            None,
        )
        .await;
    assert!(gone.0.is_success(), "{}", gone.1);
    let again = app
        .post("/subscriptions", &token, email_subscription(&own))
        .await;
    assert_eq!(again.0, StatusCode::CREATED, "{}", again.1);
}

#[tokio::test]
async fn email_subscription_addresses_capped_and_kept_to_the_agencys_domain() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "mash", &["E08000025"]).await;
    let token = app.token(&a, &["practitioner"]);
    let eleven: Vec<String> = (0..11)
        .map(|i| format!("duty{i}@agency.example.org"))
        .collect();
    let r = app
        .post("/subscriptions", &token, email_subscription(&eleven))
        .await;
    assert_eq!(crate::helpers::pointers(&r), vec!["/channel/addresses"]);
    assert!(r.1["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("limits.addresses_per_email_subscription"));
    let ten = &eleven[..10];
    let r = app
        .post("/subscriptions", &token, email_subscription(ten))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // The hub's mail relay is not a way to mail anyone: only the agency's own domain.
    let r = app
        .post(
            "/subscriptions",
            &token,
            email_subscription(&[
                "ok@mash.agency.example.org".to_owned(),
                "anyone@elsewhere.example".to_owned(),
            ]),
        )
        .await;
    assert_eq!(crate::helpers::pointers(&r), vec!["/channel/addresses/1"]);
}

fn incident() -> serde_json::Value {
    serde_json::json!({
        "reference": "REF-1", "occurred_at": "2026-01-10T22:15:00Z", "area": "E08000025",
        "exploitation_types": ["criminal"], "classification": "official", "narrative": "n",
        "victims": [{"reference": "V1", "age": 30, "consent_to_share": "given"}]
    })
}

#[tokio::test]
async fn incident_and_referral_lists_capped() {
    let app = TestApp::spawn().await;
    let police = app.agency("Police", "police_force", &["E08000025"]).await;
    let token = app.token(&police, &["practitioner"]);
    let many = |n: usize| -> Vec<String> { (0..n).map(|i| format!("item {i}")).collect() };
    let mut body = incident();
    body["victims"][0]["needs"] = serde_json::json!(many(51));
    body["nca_disruption_outcomes"] = serde_json::json!(many(51));
    body["threats"] = serde_json::json!(vec!["county_lines"; 51]);
    let r = app.post("/incidents", &token, body).await;
    let mut p = crate::helpers::pointers(&r);
    p.sort();
    assert_eq!(
        p,
        vec!["/nca_disruption_outcomes", "/threats", "/victims/0/needs"]
    );
    assert!(r.1.to_string().contains("limits.list_items"), "{}", r.1);
    let mut body = incident();
    let victim = body["victims"][0].clone();
    body["victims"] = serde_json::json!(vec![victim; 501]);
    body["suspects"] = serde_json::json!(vec![serde_json::json!({"role": "controller"}); 501]);
    let r = app.post("/incidents", &token, body).await;
    assert_eq!(crate::helpers::pointers(&r), vec!["/victims", "/suspects"]);
    // Exactly at the limit is fine.
    let mut body = incident();
    body["victims"][0]["needs"] = serde_json::json!(many(50));
    let r = app.post("/incidents", &token, body).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // A change is held to the same limits.
    let id = r.1["id"].as_str().unwrap().to_owned();
    let r = app
        .patch_if(
            &format!("/incidents/{id}"),
            &token,
            "\"1\"",
            serde_json::json!({"nca_disruption_outcomes": many(51)}),
        )
        .await;
    assert_eq!(
        crate::helpers::pointers(&r),
        vec!["/nca_disruption_outcomes"]
    );

    let ngo = app.agency("NGO", "ngo", &["E08000025"]).await;
    let r = app
        .post(
            "/referrals",
            &app.token(&ngo, &["practitioner"]),
            serde_json::json!({
                "area": "E08000025", "nrm_consent": "given",
                "potential_victim": {"name": "A", "age": 30},
                "exploitation_types": vec!["labour"; 51], "narrative": "n",
                "indicators": many(51), "classification": "official"
            }),
        )
        .await;
    let mut p = crate::helpers::pointers(&r);
    p.sort();
    assert_eq!(p, vec!["/exploitation_types", "/indicators"]);
}

#[tokio::test]
async fn default_budgets_stop_one_flooding_principal_but_not_many_busy_ones() {
    let app = TestApp::spawn().await;
    let a = app.agency("Agency A", "police_force", &["E08000025"]).await;
    let count =
        |statuses: &[StatusCode], s: StatusCode| statuses.iter().filter(|x| **x == s).count();
    // 64 officers, each making 100 requests as fast as the hub answers: none is throttled.
    let tokens: Vec<String> = (0..64)
        .map(|i| app.token_as(&a, &format!("officer-{i}"), &["practitioner"]))
        .collect();
    let busy = futures_util::future::join_all(tokens.iter().map(|t| {
        let app = &app;
        async move {
            let mut out = Vec::new();
            for _ in 0..100 {
                out.push(app.get("/me", t).await.0);
            }
            out
        }
    }))
    .await
    .concat();
    assert_eq!(count(&busy, StatusCode::OK), 6400);
    // One principal sending 2,500 at once from 32 connections: held to its burst and rate.
    let flooder = app.token_as(&a, "flooder", &["practitioner"]);
    let flood = futures_util::future::join_all((0..32).map(|_| {
        let (app, t) = (&app, &flooder);
        async move {
            let mut out = Vec::new();
            for _ in 0..78 {
                out.push(app.get("/me", t).await.0);
            }
            out
        }
    }))
    .await
    .concat();
    let limited = count(&flood, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited > 0,
        "{} ok, none throttled",
        count(&flood, StatusCode::OK)
    );
    assert_eq!(limited + count(&flood, StatusCode::OK), flood.len());
}

#[tokio::test]
async fn liveness_is_never_throttled_but_other_unauthenticated_calls_are() {
    let app = small_budgets(5).await;
    let mut codes = Vec::new();
    for _ in 0..30 {
        let r = app
            .client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
        codes.push(r.status());
    }
    assert!(codes.iter().all(|c| *c == StatusCode::OK), "{codes:?}");
    let mut codes = Vec::new();
    for _ in 0..30 {
        let r = app
            .client
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap();
        codes.push(r.status());
    }
    assert!(codes.contains(&StatusCode::TOO_MANY_REQUESTS), "{codes:?}");
}
