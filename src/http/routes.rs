//! The route table: one list of (method, path, handler) that both mounts the routes and tells
//! the contract test which routes are served, so the code and api-spec/openapi.yaml cannot
//! drift apart unnoticed.
use std::collections::HashSet;
use std::sync::LazyLock;

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder, Route};

use super::handlers::{
    agencies, agreements, audit, dev_issuer, fallback, ictg, incidents, learning, me, ops,
    outcomes, partnerships, referrals, subscriptions, support, threat_picture, witness,
};

/// One served endpoint.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    route: Route,
}

fn ep<F, Args>(method: Method, path: &'static str, handler: F) -> Endpoint
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    Endpoint {
        route: web::route().method(method.clone()).to(handler),
        method,
        path,
    }
}

/// The API prefix.
pub const API: &str = "/api/v1";

/// The operations endpoints at the root, where Kubernetes probes and Prometheus' default
/// `metrics_path` look (the same handlers are also under [`API`]).
fn ops_root() -> Vec<Endpoint> {
    vec![
        ep(Method::GET, "/healthz", ops::healthz),
        ep(Method::GET, "/readyz", ops::readyz),
        ep(Method::GET, "/metrics", ops::metrics),
    ]
}

/// Every endpoint of the API (paths relative to [`API`]).
fn api() -> Vec<Endpoint> {
    vec![
        ep(Method::GET, "/healthz", ops::healthz),
        ep(Method::GET, "/readyz", ops::readyz),
        ep(Method::GET, "/metrics", ops::metrics),
        ep(Method::GET, "/api-spec/openapi.yaml", ops::openapi),
        ep(Method::GET, "/me", me::get),
        ep(Method::POST, "/agencies", agencies::create),
        ep(Method::GET, "/agencies", agencies::list),
        ep(Method::GET, "/agencies/{id}", agencies::get),
        ep(Method::PATCH, "/agencies/{id}", agencies::patch),
        ep(
            Method::PUT,
            "/agencies/{id}/identity-provider",
            agencies::put_identity_provider,
        ),
        // Partnerships and terms of reference.
        ep(Method::POST, "/partnerships", partnerships::create),
        ep(Method::GET, "/partnerships", partnerships::list),
        ep(Method::GET, "/partnerships/{id}", partnerships::get),
        ep(
            Method::POST,
            "/partnerships/{id}/members",
            partnerships::add_member,
        ),
        ep(
            Method::POST,
            "/partnerships/{id}/members/{agency_id}/acceptance",
            partnerships::accept_membership,
        ),
        ep(
            Method::POST,
            "/partnerships/{id}/members/{agency_id}/decline",
            partnerships::decline_membership,
        ),
        ep(
            Method::POST,
            "/partnerships/{id}/terms",
            partnerships::publish_terms,
        ),
        ep(
            Method::GET,
            "/partnerships/{id}/terms/{version}",
            partnerships::get_terms,
        ),
        ep(
            Method::POST,
            "/partnerships/{id}/terms/{version}/acceptances",
            partnerships::accept_terms,
        ),
        // Agreements (`/agreements/check` before `/agreements/{id}`, which would take it).
        ep(Method::POST, "/agreements", agreements::create),
        ep(Method::GET, "/agreements", agreements::list),
        ep(Method::POST, "/agreements/check", agreements::check),
        ep(Method::GET, "/agreements/{id}", agreements::get),
        ep(Method::POST, "/agreements/{id}/versions", agreements::amend),
        ep(
            Method::POST,
            "/agreements/{id}/signatures",
            agreements::sign,
        ),
        ep(
            Method::POST,
            "/agreements/{id}/suspend",
            agreements::suspend,
        ),
        ep(Method::POST, "/agreements/{id}/resume", agreements::resume),
        ep(
            Method::POST,
            "/agreements/{id}/terminate",
            agreements::terminate,
        ),
        ep(Method::POST, "/incidents", incidents::create),
        ep(Method::GET, "/incidents", incidents::list),
        ep(Method::GET, "/incidents/{id}", incidents::get),
        ep(Method::PATCH, "/incidents/{id}", incidents::patch),
        ep(Method::GET, "/incidents/{id}/routing", incidents::routing),
        ep(Method::GET, "/notifications", incidents::notifications_list),
        ep(
            Method::GET,
            "/notifications/{id}",
            incidents::notification_get,
        ),
        ep(
            Method::POST,
            "/notifications/{id}/acknowledge",
            incidents::acknowledge,
        ),
        // NGO referrals through the NRM pathway (issue 6).
        ep(Method::POST, "/referrals", referrals::create),
        ep(Method::GET, "/referrals", referrals::list),
        ep(Method::GET, "/referrals/{id}", referrals::get),
        ep(
            Method::POST,
            "/referrals/{id}/events",
            referrals::record_event,
        ),
        ep(Method::POST, "/subscriptions", subscriptions::create),
        ep(Method::GET, "/subscriptions", subscriptions::list),
        ep(Method::GET, "/subscriptions/{id}", subscriptions::get),
        ep(Method::DELETE, "/subscriptions/{id}", subscriptions::delete),
        ep(Method::GET, "/deliveries", subscriptions::list_deliveries),
        ep(
            Method::POST,
            "/deliveries/{id}/retry",
            subscriptions::retry_delivery,
        ),
        // The audit trail (issue 3).
        ep(Method::GET, "/audit/events", audit::events),
        ep(Method::GET, "/audit/events/{seq}", audit::event),
        ep(Method::GET, "/audit/tree-head", audit::tree_head),
        ep(Method::GET, "/audit/checkpoint", audit::checkpoint),
        ep(Method::GET, "/audit/checkpoints", audit::checkpoint_at),
        ep(Method::GET, "/audit/verifier-key", audit::verifier_key),
        ep(Method::GET, "/audit/verifier-keys", audit::verifier_keys),
        ep(Method::GET, "/audit/proofs/inclusion", audit::inclusion),
        ep(Method::GET, "/audit/proofs/consistency", audit::consistency),
        ep(Method::GET, "/audit/verify", audit::verify),
        ep(Method::GET, "/audit/export", audit::export),
        ep(
            Method::GET,
            "/reports/disclosures",
            audit::disclosure_report,
        ),
        // Commissioned support (issue 15).
        ep(Method::POST, "/support/providers", support::create_provider),
        ep(Method::POST, "/support/services", support::create_service),
        ep(Method::GET, "/support/services", support::list_services),
        ep(Method::GET, "/support/services/{id}", support::get_service),
        ep(
            Method::POST,
            "/support/services/{id}/capacity-exceptions",
            support::create_exception,
        ),
        ep(
            Method::POST,
            "/support/placements",
            support::create_placement,
        ),
        ep(
            Method::GET,
            "/support/placements/{id}",
            support::get_placement,
        ),
        ep(
            Method::POST,
            "/support/placements/{id}/end",
            support::end_placement,
        ),
        ep(Method::GET, "/reports/support-coverage", support::coverage),
        ep(Method::GET, "/reports/support-spend", support::spend),
        // Outcomes and the threat picture (issue 14).
        ep(Method::POST, "/incidents/{id}/outcomes", outcomes::create),
        ep(Method::GET, "/reports/threat-picture", threat_picture::get),
        // Witnessing (issue 12): msht-hub as a C2SP tlog-witness.
        ep(
            Method::POST,
            "/witness/add-checkpoint",
            witness::add_checkpoint,
        ),
        // ICTG monitoring (issue 14).
        ep(Method::GET, "/ictg/children", ictg::list),
        ep(
            Method::POST,
            "/incidents/{id}/ictg-allocations",
            ictg::allocate,
        ),
        // Learning records (issue 14).
        ep(
            Method::POST,
            "/partnerships/{id}/learning-records",
            learning::create,
        ),
        ep(
            Method::GET,
            "/partnerships/{id}/learning-records",
            learning::list,
        ),
        ep(Method::GET, "/learning-records/{id}", learning::get),
        ep(
            Method::POST,
            "/learning-records/{id}/recommendations",
            learning::add_recommendation,
        ),
        ep(
            Method::GET,
            "/partnerships/{id}/recommendations",
            learning::recommendations,
        ),
        ep(
            Method::POST,
            "/learning-recommendations/{id}/status",
            learning::set_status,
        ),
    ]
}

/// The development issuer's endpoints (absolute paths), mounted only with `serve --dev`.
fn dev() -> Vec<Endpoint> {
    vec![
        ep(
            Method::GET,
            "/dev-issuer/{slug}/.well-known/openid-configuration",
            dev_issuer::discovery,
        ),
        ep(Method::GET, "/dev-issuer/{slug}/jwks", dev_issuer::jwks),
        // The IG console's sign-in at the dev issuers.
        ep(
            Method::GET,
            "/dev-issuer/{slug}/authorize",
            dev_issuer::authorize,
        ),
        ep(
            Method::POST,
            "/dev-issuer/{slug}/authorize",
            dev_issuer::authorize_submit,
        ),
        ep(Method::POST, "/dev-issuer/{slug}/token", dev_issuer::token),
    ]
}

/// `(METHOD, absolute path)` of every route this build can serve, dev routes included.
pub fn served() -> Vec<(String, String)> {
    api()
        .into_iter()
        .map(|e| (e.method.to_string(), format!("{API}{}", e.path)))
        .chain(
            ops_root()
                .into_iter()
                .chain(dev())
                .map(|e| (e.method.to_string(), e.path.to_owned())),
        )
        .collect()
}

/// Whether `pattern` is answered without a bearer token: the probes, the metrics, the
/// spec and the dev issuer. Everything else needs one.
pub fn is_public(pattern: &str) -> bool {
    let relative = pattern.strip_prefix(API).unwrap_or(pattern);
    matches!(
        relative,
        "/healthz" | "/readyz" | "/metrics" | "/api-spec/openapi.yaml" | "/witness/add-checkpoint"
    ) || pattern.starts_with("/dev-issuer/")
}

/// Whether `pattern` is the liveness probe (root or under [`API`]).
pub fn is_liveness(pattern: &str) -> bool {
    pattern.strip_prefix(API).unwrap_or(pattern) == "/healthz"
}

/// Whether `method` on the matched `pattern` is a served route that needs a bearer token
/// (a wrong method is answered 405 without one).
pub fn needs_token(method: &str, pattern: &str) -> bool {
    static SERVED: LazyLock<HashSet<(String, String)>> =
        LazyLock::new(|| served().into_iter().collect());
    !is_public(pattern) && SERVED.contains(&(method.to_owned(), pattern.to_owned()))
}

/// The methods served at a matched path pattern (for `Allow`).
pub fn methods_for(pattern: &str) -> Vec<String> {
    served()
        .into_iter()
        .filter(|(_, p)| p == pattern)
        .map(|(m, _)| m)
        .collect()
}

/// Mounts `endpoints` under `prefix`, one scope per first path segment (`/incidents`,
/// `/agreements`, ...) with that segment's resources inside. Matching a request (which the
/// router, the gate and the metrics middleware each do) then compares a few static prefixes
/// and tries the patterns of one segment only, instead of every pattern of the API in turn.
fn mount(cfg: &mut web::ServiceConfig, prefix: &str, endpoints: Vec<Endpoint>) {
    let mut groups: Vec<(&'static str, Vec<Resource>)> = Vec::new();
    for e in endpoints {
        let (segment, rest) = split_first_segment(e.path);
        let i = match groups.iter().position(|(s, _)| *s == segment) {
            Some(i) => i,
            None => {
                groups.push((segment, Vec::new()));
                groups.len() - 1
            }
        };
        let Some((_, group)) = groups.get_mut(i) else {
            continue;
        };
        match group.iter_mut().find(|(p, _)| *p == rest) {
            Some((_, routes)) => routes.push(e.route),
            None => group.push((rest, vec![e.route])),
        }
    }
    for (segment, resources) in groups {
        let mut scope = web::scope(&format!("{prefix}{segment}"));
        for (rest, routes) in resources {
            let mut resource =
                web::resource(rest).default_service(web::to(fallback::method_not_allowed));
            for r in routes {
                resource = resource.route(r);
            }
            scope = scope.service(resource);
        }
        cfg.service(scope);
    }
}

/// One resource of a segment's scope: its path within the scope and its routes.
type Resource = (&'static str, Vec<Route>);

/// `/incidents/{id}/events` -> (`/incidents`, `/{id}/events`); `/me` -> (`/me`, ``).
fn split_first_segment(path: &'static str) -> (&'static str, &'static str) {
    let tail = path.get(1..).unwrap_or("");
    match tail.find('/') {
        Some(i) => path.split_at(i + 1),
        None => (path, ""),
    }
}

/// Mounts the console, the API, the root operations endpoints, and the dev issuer when `dev`
/// is set.
pub fn configure(cfg: &mut web::ServiceConfig, dev_mode: bool) {
    super::console::routes::configure(cfg);
    mount(cfg, API, api());
    mount(cfg, "", ops_root());
    if dev_mode {
        mount(cfg, "", dev());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_splits_at_its_first_segment() {
        assert_eq!(split_first_segment("/me"), ("/me", ""));
        assert_eq!(
            split_first_segment("/incidents/{id}/events"),
            ("/incidents", "/{id}/events")
        );
        assert_eq!(
            split_first_segment("/api-spec/openapi.yaml"),
            ("/api-spec", "/openapi.yaml")
        );
    }
}
