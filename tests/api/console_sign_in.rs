//! IG console sign-in over HTTP with a cookie store, through the dev issuer's sign-in page
//! (`serve --dev`): the authorization code flow with PKCE, state and nonce; session cookies;
//! refusals (wrong state or nonce, a practitioner); idle and absolute timeouts with the
//! hub's clock moved; sign-out; cross-site and token-less forms refused; and the browser
//! security headers of every console page.
use std::collections::HashMap;

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Options, TestApp};

/// A browser without JavaScript: follows nothing by itself, keeps cookies.
pub(crate) struct Browser {
    client: reqwest::Client,
    jar: HashMap<String, String>,
    /// Every `Set-Cookie` seen, as sent.
    set_cookies: Vec<String>,
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    fn location(&self) -> String {
        self.headers
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

impl Browser {
    pub(crate) fn new() -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: HashMap::new(),
            set_cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, rb: reqwest::RequestBuilder) -> Page {
        let rb = if self.jar.is_empty() {
            rb
        } else {
            rb.header("cookie", self.cookie_header())
        };
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().unwrap().to_owned();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            if v.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_owned(), val.to_owned());
            }
            self.set_cookies.push(v);
        }
        let body = resp.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&mut self, url: &str) -> Page {
        let rb = self.client.get(url);
        self.send(rb).await
    }

    /// A form post from a page of `origin`.
    pub(crate) async fn post(&mut self, url: &str, origin: &str, fields: &[(&str, &str)]) -> Page {
        let rb = self
            .client
            .post(url)
            .header("origin", origin)
            .header("sec-fetch-site", "same-origin")
            .form(fields);
        self.send(rb).await
    }
}

/// The `value` of every `<input type="hidden">` and the `value`s of `<option>`s in `html`.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| {
        let key = format!("{name}=\"");
        tag.find(&key).map(|i| {
            let rest = &tag[i + key.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
    };
    html.split('<')
        .filter(|t| t.starts_with("input type=\"hidden\""))
        .map(|t| {
            (
                attr(t, "name").unwrap(),
                attr(t, "value").unwrap().replace("&#x2f;", "/"),
            )
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&amp;", "&")
        .replace("&#43;", "+")
        .replace("&#x3d;", "=")
        .replace("&#61;", "=")
}

fn options(html: &str) -> Vec<String> {
    html.split("<option value=\"")
        .skip(1)
        .map(|t| unescape(&t[..t.find('"').unwrap()]))
        .collect()
}

fn police_id(app: &TestApp) -> String {
    let dev = app.state.dev.as_ref().unwrap();
    dev.state
        .agencies
        .iter()
        .find(|a| a.slug == "police")
        .unwrap()
        .id
        .clone()
}

pub(crate) async fn dev_app(opts: Options) -> TestApp {
    TestApp::spawn_with(Options { dev: true, ..opts }).await
}

/// Begins a sign-in through the police dev issuer and returns the authorization URL.
async fn begin(app: &TestApp, b: &mut Browser, next: &str) -> String {
    let url = format!(
        "{}/console/sign-in?agency={}&next={}",
        app.base,
        police_id(app),
        urlencode(next)
    );
    let p = b.get(&url).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let to = p.location();
    assert!(
        to.starts_with(&format!("{}/dev-issuer/police/authorize?", app.base)),
        "{to}"
    );
    to
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The dev issuer's page: choose `officer`, optionally changing a hidden field; returns the
/// callback URL it sends the browser to.
async fn choose(
    app: &TestApp,
    b: &mut Browser,
    authorize: &str,
    officer: &str,
    change: Option<(&str, &str)>,
) -> String {
    let page = b.get(authorize).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("LOCAL DEVELOPMENT ISSUER"));
    assert!(page
        .body
        .contains("<select id=\"officer\" name=\"officer\">"));
    assert!(
        options(&page.body).contains(&officer.to_owned()),
        "{:?}",
        options(&page.body)
    );
    let mut fields: Vec<(String, String)> = hidden_inputs(&page.body)
        .into_iter()
        .map(|(k, v)| (k, unescape(&v)))
        .collect();
    if let Some((k, v)) = change {
        for f in fields.iter_mut() {
            if f.0 == k {
                f.1 = v.to_owned();
            }
        }
    }
    fields.push(("officer".into(), officer.into()));
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let action = format!("{}/dev-issuer/police/authorize", app.base);
    let p = b.post(&action, &app.base, &refs).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let back = p.location();
    assert!(
        back.starts_with(&format!("{}/console/callback?", app.base)),
        "{back}"
    );
    back
}

/// Signs in as `officer` and returns the callback's answer.
pub(crate) async fn sign_in(app: &TestApp, b: &mut Browser, officer: &str, next: &str) -> Page {
    let authorize = begin(app, b, next).await;
    let back = choose(app, b, &authorize, officer, None).await;
    b.get(&back).await
}

/// The session's form token, from a console page.
pub(crate) async fn csrf_token(app: &TestApp, b: &mut Browser) -> String {
    let p = b.get(&format!("{}/console/purpose", app.base)).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    hidden_inputs(&p.body)
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1
}

async fn audit(app: &TestApp, filter: &str) -> Vec<Value> {
    let token = app.operator_token(&["hub_auditor"]);
    let r = app
        .get(
            &format!("/audit/events?purpose=integrity_security&limit=200{filter}"),
            &token,
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_ig_officer_signs_in_through_the_agency_issuer() {
    let app = dev_app(Options::default()).await;
    let mut b = Browser::new();

    // Nobody signed in: a console page sends the browser to sign-in, keeping the page.
    let p = b
        .get(&format!("{}/console/purpose?next=/console/audit", app.base))
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        p.location()
            .starts_with("/console/sign-in?next=/console/purpose%3Fnext%3D"),
        "{}",
        p.location()
    );

    // The sign-in page lists the agencies by name.
    let p = b.get(&format!("{}/console/sign-in", app.base)).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Demo West Midlands Police"), "{}", p.body);
    assert!(options(&p.body).contains(&police_id(&app)));

    let authorize = begin(&app, &mut b, "/console/audit?operation=disclosure").await;
    for param in [
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "nonce=",
        "client_id=msht-hub-console",
    ] {
        assert!(authorize.contains(param), "{param} in {authorize}");
    }
    let pending = b.set_cookies.last().unwrap().clone();
    assert!(pending.starts_with("msht_console_sign_in="), "{pending}");
    assert!(pending.contains("HttpOnly") && pending.contains("SameSite=Lax"));
    assert!(
        !pending.contains("Secure"),
        "--dev serves plain http: {pending}"
    );

    let back = choose(&app, &mut b, &authorize, "police:ig_officer", None).await;
    let p = b.get(&back).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), "/console/audit?operation=disclosure");
    let session = b
        .set_cookies
        .iter()
        .find(|c| c.starts_with("msht_console="))
        .unwrap()
        .clone();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/console"] {
        assert!(session.contains(attr), "{attr} in {session}");
    }
    assert!(
        !b.jar.contains_key("msht_console_sign_in"),
        "sign-in cookie cleared"
    );
    let handle = b.jar["msht_console"].clone();
    assert!(handle.len() >= 43);

    // A console page: signed in, with its security headers.
    let p = b.get(&format!("{}/console/purpose", app.base)).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p
        .body
        .contains("Demo ig_officer of Demo West Midlands Police"));
    let h = |n: &str| p.headers.get(n).unwrap().to_str().unwrap().to_owned();
    let csp = h("content-security-policy");
    for part in [
        "default-src 'none'",
        "script-src 'nonce-",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h("cache-control"), "no-store");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "no-referrer");
    let again = b.get(&format!("{}/console/purpose", app.base)).await;
    let csp2 = again.headers["content-security-policy"].to_str().unwrap();
    assert_ne!(csp, csp2, "a fresh nonce per response");

    // Nothing secret in the URLs the browser saw.
    assert!(!back.contains(&handle) && !authorize.contains(&handle));

    // The sign-in is in the audit trail as the officer.
    let entries = audit(&app, "&operation=governance").await;
    let signed_in: Vec<&Value> = entries
        .iter()
        .filter(|e| e["record_kind"] == "console_session")
        .collect();
    assert_eq!(signed_in.len(), 1, "{entries:?}");
    assert_eq!(signed_in[0]["actor"]["subject"], "police-ig_officer");
    assert_eq!(signed_in[0]["actor"]["roles"], json!(["ig_officer"]));
    assert_eq!(signed_in[0]["concerns"], json!([police_id(&app)]));
    assert_eq!(signed_in[0]["justification"], "signed in to the IG console");

    // Signing in again gives a new session handle, and ends the earlier session.
    sign_in(&app, &mut b, "police:ig_officer", "/console").await;
    assert_ne!(b.jar["msht_console"], handle);
    assert_eq!(
        b.get(&format!("{}/console/purpose", app.base)).await.status,
        StatusCode::OK
    );
    let mut old = Browser::new();
    old.jar.insert("msht_console".into(), handle);
    let p = old.get(&format!("{}/console/purpose", app.base)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "the earlier session ended");
}

#[tokio::test]
async fn purposes_are_kept_and_bad_input_marks_the_field() {
    let app = dev_app(Options::default()).await;
    let mut b = Browser::new();
    sign_in(&app, &mut b, "police:ig_officer", "/console").await;
    let token = csrf_token(&app, &mut b).await;
    let url = format!("{}/console/purpose", app.base);
    let p = b
        .post(
            &url,
            &app.base,
            &[
                ("csrf_token", &token),
                ("purpose", " x "),
                ("next", "/console/audit"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("aria-invalid=\"true\""), "{}", p.body);
    assert!(p.body.contains("field--error"));
    let p = b
        .post(
            &url,
            &app.base,
            &[
                ("csrf_token", &token),
                ("purpose", "verify_lawfulness"),
                ("next", "https://elsewhere.example/console"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), "/console", "an outside next is not followed");
    let p = b.get(&url).await;
    assert!(
        p.body.contains("value=\"verify_lawfulness\" checked"),
        "{}",
        p.body
    );
}

#[tokio::test]
async fn forms_without_the_session_token_or_from_elsewhere_are_refused() {
    let app = dev_app(Options::default()).await;
    let mut b = Browser::new();
    sign_in(&app, &mut b, "police:ig_officer", "/console").await;
    let token = csrf_token(&app, &mut b).await;
    let url = format!("{}/console/purpose", app.base);
    let fields = [("purpose", "self_monitoring")];

    let p = b.post(&url, &app.base, &fields).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "no token");
    assert!(p.headers.contains_key("content-security-policy"));
    let p = b
        .post(
            &url,
            &app.base,
            &[("csrf_token", "not-the-token"), fields[0]],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "someone else's token");

    // The right token, from another site.
    let rb = b
        .client
        .post(&url)
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf_token", token.as_str()), fields[0]]);
    let p = b.send(rb).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "cross-site");
    let rb = b
        .client
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str()), fields[0]]);
    let p = b.send(rb).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "foreign Origin");

    // Nothing changed; the refusals are logged against the officer.
    let p = b.get(&url).await;
    assert!(!p.body.contains("value=\"self_monitoring\" checked"));
    let denied = audit(&app, "&operation=access_denied").await;
    let forms: Vec<&Value> = denied
        .iter()
        .filter(|e| e["actor"]["subject"] == "police-ig_officer")
        .collect();
    assert_eq!(forms.len(), 4, "{denied:?}");
    assert_eq!(forms[0]["record_id"], "POST /console/purpose");

    // With its token, from the console itself, it is accepted.
    let p = b
        .post(&url, &app.base, &[("csrf_token", &token), fields[0]])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_practitioner_is_refused_the_console() {
    let app = dev_app(Options::default()).await;
    let mut b = Browser::new();
    let p = sign_in(&app, &mut b, "police:practitioner", "/console").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert!(p.body.contains("ig_officer"), "{}", p.body);
    assert!(!b.jar.contains_key("msht_console"), "no session");
    let denied = audit(&app, "&operation=access_denied").await;
    let e = denied
        .iter()
        .find(|e| e["actor"]["subject"] == "police-practitioner")
        .expect("the refusal is logged");
    assert_eq!(e["actor"]["roles"], json!(["practitioner"]));
    assert_eq!(e["record_id"], "GET /console/callback");
    assert!(e["reasons"][0].as_str().unwrap().contains("ig_officer"));
}

#[tokio::test]
async fn a_wrong_state_or_nonce_is_refused() {
    let app = dev_app(Options::default()).await;

    // Wrong state: the code is good, the state is not this browser's.
    let mut b = Browser::new();
    let authorize = begin(&app, &mut b, "/console").await;
    let back = choose(&app, &mut b, &authorize, "police:ig_officer", None).await;
    let mut u = url::Url::parse(&back).unwrap();
    let code = u
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    u.query_pairs_mut()
        .clear()
        .append_pair("code", &code)
        .append_pair("state", "forged-state");
    let p = b.get(u.as_str()).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert!(p.body.contains("Sign-in did not complete"));
    assert!(!b.jar.contains_key("msht_console"));
    // The sign-in was used up: the right state no longer works either.
    let p = b.get(&back).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);

    // Wrong nonce: the issuer is asked to put another nonce in the ID token.
    let mut b = Browser::new();
    let authorize = begin(&app, &mut b, "/console").await;
    let back = choose(
        &app,
        &mut b,
        &authorize,
        "police:ig_officer",
        Some(("nonce", "a-nonce-this-sign-in-never-sent")),
    )
    .await;
    let p = b.get(&back).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert!(!b.jar.contains_key("msht_console"));

    // A callback without any sign-in under way.
    let mut stranger = Browser::new();
    let p = stranger.get(&back).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);

    let denied = audit(&app, "&operation=access_denied").await;
    let reasons: Vec<String> = denied
        .iter()
        .filter(|e| e["record_kind"] == "console_sign_in")
        .map(|e| e["reasons"][0].as_str().unwrap().to_owned())
        .collect();
    for r in [
        "console sign-in refused: state_mismatch",
        "console sign-in refused: no_sign_in_under_way",
        "console sign-in refused: nonce_mismatch",
    ] {
        assert!(reasons.contains(&r.to_owned()), "{r} in {reasons:?}");
    }
    // Nothing of the code or state reaches the log.
    let text = serde_json::to_string(&denied).unwrap();
    assert!(!text.contains(&code) && !text.contains("forged-state"));
}

#[tokio::test]
async fn sessions_end_after_their_idle_and_absolute_timeouts() {
    let opts = Options::default()
        .with_env("MSHT_HUB__CONSOLE__IDLE_TIMEOUT_SECS", "600")
        .with_env("MSHT_HUB__CONSOLE__ABSOLUTE_TIMEOUT_SECS", "1800")
        .with_env("MSHT_HUB__CONSOLE__TOUCH_INTERVAL_SECS", "30");
    let app = dev_app(opts).await;
    let purpose = format!("{}/console/purpose", app.base);

    // Idle: ten minutes without a request.
    let mut b = Browser::new();
    sign_in(&app, &mut b, "police:ig_officer", "/console").await;
    app.clock.advance(chrono::Duration::seconds(599));
    assert_eq!(b.get(&purpose).await.status, StatusCode::OK);
    app.clock.advance(chrono::Duration::seconds(599));
    assert_eq!(
        b.get(&purpose).await.status,
        StatusCode::OK,
        "each use renews it"
    );
    app.clock.advance(chrono::Duration::seconds(600));
    let p = b.get(&purpose).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(p.location().starts_with("/console/sign-in"));

    // Absolute: busy, but thirty minutes after sign-in it ends.
    let mut b = Browser::new();
    sign_in(&app, &mut b, "police:ig_officer", "/console").await;
    for _ in 0..3 {
        app.clock.advance(chrono::Duration::seconds(590));
        assert_eq!(b.get(&purpose).await.status, StatusCode::OK);
    }
    app.clock.advance(chrono::Duration::seconds(40));
    let p = b.get(&purpose).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "past the absolute timeout");
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = dev_app(Options::default()).await;
    let mut b = Browser::new();
    sign_in(&app, &mut b, "police:ig_officer", "/console").await;
    let handle = b.jar["msht_console"].clone();
    let token = csrf_token(&app, &mut b).await;
    let url = format!("{}/console/sign-out", app.base);

    // Not without the session's token.
    let p = b.post(&url, &app.base, &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    let p = b.post(&url, &app.base, &[("csrf_token", &token)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // The dev issuer has no end-session endpoint: back to the console's sign-in page.
    assert_eq!(p.location(), "/console/sign-in?signed_out=1");
    assert!(!b.jar.contains_key("msht_console"), "cookie removed");

    // The old handle no longer opens anything.
    b.jar.insert("msht_console".into(), handle);
    let p = b.get(&format!("{}/console/purpose", app.base)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let entries = audit(&app, "&operation=governance").await;
    let out: Vec<&Value> = entries
        .iter()
        .filter(|e| e["justification"] == "signed out of the IG console")
        .collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["actor"]["subject"], "police-ig_officer");
}

#[tokio::test]
async fn the_sign_in_cookie_is_secure_outside_dev() {
    let app = TestApp::spawn().await;
    let agency = app
        .agency("Console Police", "police_force", &["E08000025"])
        .await;
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/agencies/{}/identity-provider", agency.id),
            &app.admin(),
            Some(json!({
                "issuer": agency.issuer, "audience": crate::helpers::AUDIENCE,
                "role_map": {"ig_officer": "ig_officer"},
                "console": {"client_id": "hub-console", "client_secret": "a-client-secret-of-some-length",
                            "redirect_uri": format!("{}/console/callback", app.base)},
            })),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(
        r.1["console"],
        json!({"client_id": "hub-console", "redirect_uri": format!("{}/console/callback", app.base),
               "has_client_secret": true})
    );
    assert!(
        !r.1.to_string().contains("a-client-secret"),
        "never returned"
    );

    let mut b = Browser::new();
    let p = b
        .get(&format!(
            "{}/console/sign-in?agency={}",
            app.base, agency.id
        ))
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(p
        .location()
        .starts_with(&format!("{}/authorize?", agency.issuer)));
    let c = b.set_cookies.last().unwrap();
    assert!(c.contains("Secure") && c.contains("HttpOnly"), "{c}");

    // A redirect URI elsewhere than the console's callback is refused.
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/agencies/{}/identity-provider", agency.id),
            &app.admin(),
            Some(json!({
                "issuer": agency.issuer, "audience": crate::helpers::AUDIENCE,
                "role_map": {"ig_officer": "ig_officer"},
                "console": {"client_id": "hub-console", "redirect_uri": "http://evil.example/steal"},
            })),
        )
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(crate::helpers::pointers(&r), vec!["/console/redirect_uri"]);
}
