//! The console's pages after a real sign-in through the dev issuer (cookie store): the
//! purpose asked once by the page's own form and recorded with the search, then an export,
//! the person report, verify and the agreement register, each under the console's CSP.
use reqwest::StatusCode;

use crate::console_sign_in::{csrf_token, dev_app, sign_in, Browser};
use crate::helpers::Options;

#[tokio::test]
async fn an_officer_signs_in_gives_a_purpose_searches_exports_and_reads_reports() {
    let app = dev_app(Options::default()).await;
    let mut b = Browser::new();
    let search = "/console/audit?operation=governance&search=1";
    let p = sign_in(&app, &mut b, "police:ig_officer", search).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);

    // No purpose yet: the search page asks for one with its own form.
    let p = b.get(&format!("{}{search}", app.base)).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains(r#"value="self_monitoring""#), "{}", p.body);
    let token = csrf_token(&app, &mut b).await;
    let p = b
        .post(
            &format!("{}/console/purpose", app.base),
            &app.base,
            &[
                ("csrf_token", token.as_str()),
                ("next", search),
                ("purpose", "self_monitoring"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);

    let p = b.get(&format!("{}{search}", app.base)).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body.contains("<caption>Audit entries matching"),
        "{}",
        p.body
    );
    assert!(p.body.contains("Demo West Midlands Police"), "{}", p.body);
    let csp = p.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    // The search was logged as a consultation with the session's purpose.
    let r = app
        .get(
            "/audit/events?purpose=integrity_security&operation=consultation&limit=200",
            &app.operator_token(&["hub_auditor"]),
        )
        .await;
    let logged: Vec<&serde_json::Value> = r.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["reasons"].as_array().unwrap().iter().any(|x| {
                x.as_str()
                    .unwrap()
                    .contains("filters: operation=governance")
            })
        })
        .collect();
    assert_eq!(logged.len(), 1, "{}", r.1);
    assert_eq!(logged[0]["purpose"], "self_monitoring");

    let p = b
        .get(&format!(
            "{}/console/audit/export?format=csv&operation=governance",
            app.base
        ))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.headers.contains_key("audit-tree-head-signature"));
    assert!(p.body.starts_with("seq,leaf_index,operation"));
    assert!(p.body.lines().count() > 1, "{}", p.body);

    for path in [
        "/console/people?ref=incident%3Ax%3Avictim%3AV1",
        "/console/verify",
        "/console/agreements",
    ] {
        let p = b.get(&format!("{}{path}", app.base)).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
        assert!(
            !p.body.contains("style="),
            "{path}: an inline style attribute"
        );
        assert!(p.headers.contains_key("content-security-policy"), "{path}");
    }
}
