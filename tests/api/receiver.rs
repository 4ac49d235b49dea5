//! A webhook receiver standing in for a partner's endpoint: it answers with a scripted list
//! of statuses (then 200), optionally after a delay (a slow partner), and records every
//! request it gets.
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Inner {
    script: Vec<(u16, Option<String>)>,
    received: Vec<Received>,
    delay: std::time::Duration,
}

pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    handle: actix_web::dev::ServerHandle,
}

async fn hook(
    req: HttpRequest,
    body: web::Bytes,
    inner: web::Data<Arc<Mutex<Inner>>>,
) -> HttpResponse {
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let delay = inner.lock().unwrap().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut g = inner.lock().unwrap();
    g.received.push(Received {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp").parse().unwrap_or(0),
        signature: h("webhook-signature"),
        body: body.to_vec(),
    });
    let (status, retry_after) = if g.script.is_empty() {
        (200, None)
    } else {
        g.script.remove(0)
    };
    let mut resp = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if let Some(ra) = retry_after {
        resp.insert_header(("retry-after", ra));
    }
    resp.finish()
}

impl Receiver {
    /// Starts a receiver that answers `script` in order, then 200.
    pub async fn start(script: Vec<(u16, Option<&str>)>) -> Receiver {
        Self::start_slow(script, std::time::Duration::ZERO).await
    }

    /// Starts a receiver that takes `delay` over each answer (recorded once it answers).
    pub async fn start_slow(
        script: Vec<(u16, Option<&str>)>,
        delay: std::time::Duration,
    ) -> Receiver {
        let inner = Arc::new(Mutex::new(Inner {
            script: script
                .into_iter()
                .map(|(s, r)| (s, r.map(str::to_owned)))
                .collect(),
            received: Vec::new(),
            delay,
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hook",
            listener.local_addr().unwrap().port()
        );
        let i = inner.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(i.clone()))
                .route("/hook", web::post().to(hook))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { url, inner, handle }
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let h = self.handle.clone();
        tokio::spawn(async move { h.stop(false).await });
    }
}
