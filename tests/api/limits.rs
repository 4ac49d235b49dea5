//! Resource limits at the edge: bounded metrics labels, per-principal rate limits, caps on
//! subscriptions, addresses and list lengths.
use reqwest::Method;

use crate::helpers::TestApp;

async fn metrics(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

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
    let text = metrics(&app).await;
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
