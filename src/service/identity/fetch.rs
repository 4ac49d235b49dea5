//! The HTTP client discovery uses: openidconnect's requests through reqwest, with no
//! redirects, a timeout, and a bound on every body read (a discovery document or a JWKS
//! larger than `max_document_bytes` is refused before it is all in memory).
use std::future::Future;
use std::pin::Pin;

use openidconnect::{http, AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};

/// reqwest with a body limit, as openidconnect's HTTP client.
#[derive(Debug, Clone)]
pub struct BoundedHttp {
    client: reqwest::Client,
    max_body: usize,
}

impl BoundedHttp {
    pub fn new(client: reqwest::Client, max_body: usize) -> Self {
        BoundedHttp { client, max_body }
    }
}

type Error = HttpClientError<reqwest::Error>;

impl<'c> AsyncHttpClient<'c> for BoundedHttp {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(Box::new)?;
            let mut response = self.client.execute(request).await.map_err(Box::new)?;
            if response
                .content_length()
                .is_some_and(|n| n > self.max_body as u64)
            {
                return Err(too_large(self.max_body));
            }
            let mut builder = http::Response::builder()
                .status(response.status())
                .version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(Box::new)? {
                if body.len() + chunk.len() > self.max_body {
                    return Err(too_large(self.max_body));
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(HttpClientError::Http)
        })
    }
}

fn too_large(limit: usize) -> Error {
    HttpClientError::Other(format!("response larger than {limit} bytes"))
}
