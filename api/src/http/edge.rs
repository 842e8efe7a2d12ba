//! The HTTP edge: what every connection and request passes before a handler sees it.
//!
//! - Connections: at most `max_connections` open at once (further ones wait in the kernel's
//!   backlog), and a client must send a request's headers within `header_read_timeout` or the
//!   connection is closed, so half-sent headers cannot hold a slot.
//! - Requests: at most `max_in_flight` handled at once (a 503 with `Retry-After` beyond), each
//!   answered within `request_timeout` (a 503 otherwise: a slow body cannot hold a handler).
//! - Per client (the peer's address, an IPv6 client by its /64): the endpoints that need no
//!   session are rate-limited, those where a request tests a guess or costs a signature check
//!   strictly (429 with `Retry-After`). The limiter runs on the engine's clock, so tests move time
//!   instead of sleeping.
//! - Every response carries the security headers; a page sets its own Content-Security-Policy
//!   (see [`page_policy`]), everything else gets one that allows nothing.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use governor::clock::Clock as GovernorClock;
use governor::nanos::Nanos;
use governor::{Quota, RateLimiter};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use super::problem::ApiError;
use crate::app::Clock;

/// The edge's limits. The defaults suit one instance on a small machine; a deployment behind a
/// proxy that already limits clients can raise the per-client ones.
#[derive(Debug, Clone)]
pub struct EdgeLimits {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub max_in_flight: usize,
    /// Requests a minute per client on the endpoints where a request tests a guess (a mailbox
    /// code, a short code, a copy id) or costs a signature check (sign-in, copy verification).
    pub guesses_per_minute: u32,
    /// Requests a minute per client on the other endpoints that need no session.
    pub public_per_minute: u32,
}

impl Default for EdgeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_in_flight: 256,
            guesses_per_minute: 30,
            public_per_minute: 600,
        }
    }
}

/// How strictly an endpoint is limited per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Needs a session: the session, not the address, is who asks.
    Session,
    Guess,
    Public,
}

/// Public endpoints where a request tests a guess or costs a signature check.
const GUESS_ROUTES: &[&str] = &[
    "/api/v1/branch-email-confirmations",
    "/q/{code}",
    "/api/v1/qr-preview",
    "/qr/v1/{token}",
    "/api/v1/copies/{copy_id}",
    "/verify/{copy_id}",
    "/api/v1/copies/verification",
    "/api/v1/partner/sign-in",
    "/api/v1/operator/sign-in",
];

/// Endpoints that need no session (besides [`GUESS_ROUTES`]). `tests/api/authorization.rs`
/// holds its own list of public endpoints; a test keeps the two the same.
pub const PUBLIC_ROUTES: &[&str] = &[
    "/api/v1/partner/sign-in/challenge",
    "/api/v1/operator/sign-in/challenge",
    "/api/v1/dev/partner-sessions",
    "/api/v1/dev/citizen-sessions",
    "/api/v1/dev/operator-sessions",
    "/api/v1/partner/offer",
    "/api/v1/ca.pem",
    "/api/v1/seal-certificates.pem",
    "/verify",
    "/api/v1/audit/checkpoint",
    "/api/v1/audit/proofs/inclusion",
    "/api/v1/audit/proofs/consistency",
    "/health",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/docs/{file}",
];

/// Every endpoint that answers without a session, guessable or not.
pub fn unauthenticated_routes() -> impl Iterator<Item = &'static str> {
    GUESS_ROUTES.iter().chain(PUBLIC_ROUTES).copied()
}

fn class_of(route: Option<&str>) -> Class {
    match route {
        Some(r) if GUESS_ROUTES.contains(&r) => Class::Guess,
        Some(r) if PUBLIC_ROUTES.contains(&r) => Class::Public,
        // The pages (outside the API): read by anyone, limited as the public endpoints are.
        Some(r) if !r.starts_with("/api/") => Class::Public,
        Some(_) => Class::Session,
        // An unknown address costs a 404 only, but a scanner walking paths is still a client.
        None => Class::Public,
    }
}

/// The engine's clock, as the rate limiter reads time: nanoseconds since the limiter was made.
#[derive(Clone)]
struct LimiterClock {
    clock: Clock,
    epoch: chrono::DateTime<chrono::Utc>,
}

impl GovernorClock for LimiterClock {
    type Instant = Nanos;
    fn now(&self) -> Nanos {
        let elapsed = (self.clock.now() - self.epoch).num_nanoseconds().unwrap_or(i64::MAX).max(0);
        Nanos::from(elapsed as u64)
    }
}

type ClientLimiter =
    RateLimiter<IpAddr, governor::state::keyed::DefaultKeyedStateStore<IpAddr>, LimiterClock, governor::middleware::NoOpMiddleware<Nanos>>;

/// The state the request middleware shares.
pub struct Edge {
    limits: EdgeLimits,
    clock: LimiterClock,
    guesses: ClientLimiter,
    public: ClientLimiter,
    in_flight: Arc<Semaphore>,
    /// When the limiters last forgot clients that are back to a full allowance (engine-clock ms).
    last_pruned_ms: AtomicI64,
}

impl Edge {
    pub fn new(limits: EdgeLimits, clock: Clock) -> Arc<Self> {
        let clock = LimiterClock { epoch: clock.now(), clock };
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"));
        Arc::new(Self {
            guesses: RateLimiter::hashmap_with_clock(per_minute(limits.guesses_per_minute), clock.clone()),
            public: RateLimiter::hashmap_with_clock(per_minute(limits.public_per_minute), clock.clone()),
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            last_pruned_ms: AtomicI64::new(0),
            clock,
            limits,
        })
    }

    /// Whether `client` may make one more request of `class`; if not, in how many seconds.
    fn admit(&self, class: Class, client: IpAddr) -> Result<(), u64> {
        let limiter = match class {
            Class::Session => return Ok(()),
            Class::Guess => &self.guesses,
            Class::Public => &self.public,
        };
        self.prune();
        limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// Once a minute, forgets the clients whose allowance is full again, so a flood from many
    /// addresses costs memory for a minute only.
    fn prune(&self) {
        let now_ms = (self.clock.clock.now() - self.clock.epoch).num_milliseconds();
        let last = self.last_pruned_ms.load(Ordering::Relaxed);
        if now_ms - last >= 60_000 && self.last_pruned_ms.compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.guesses.retain_recent();
            self.public.retain_recent();
        }
    }
}

/// A client as the limiter knows it: its IPv4 address, or its IPv6 /64 (one subscriber's
/// network: an attacker holding a /64 must not count as 2^64 clients).
fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

fn too_busy(code: &'static str, detail: &str, status: StatusCode, retry_after_secs: u64) -> Response {
    let mut response = ApiError::new(status, code, detail).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
    response
}

/// Rate limit, concurrency limit and timeout of one request.
pub async fn limit_request(State(edge): State<Arc<Edge>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| client_key(c.0.ip()));
    if let Some(client) = client {
        if let Err(wait) = edge.admit(class_of(route.as_deref()), client) {
            tracing::warn!(%client, route = route.as_deref().unwrap_or("-"), "rate limit reached");
            return too_busy(
                "too-many-requests",
                &format!("забагато запитів з вашої адреси: спробуйте через {wait} с"),
                StatusCode::TOO_MANY_REQUESTS,
                wait,
            );
        }
    }
    let Ok(_permit) = edge.in_flight.clone().try_acquire_owned() else {
        return too_busy("server-busy", "сервіс перевантажений: спробуйте за мить", StatusCode::SERVICE_UNAVAILABLE, 1);
    };
    match tokio::time::timeout(edge.limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => too_busy(
            "request-timed-out",
            "запит не встигли обробити: спробуйте ще раз",
            StatusCode::SERVICE_UNAVAILABLE,
            edge.limits.request_timeout.as_secs().min(5),
        ),
    }
}

/// The policy of a response that is not a page: it may load and frame nothing.
const NOTHING_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The security headers of every response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(NOTHING_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Tokens travel in page URLs (a QR's link): no other site may learn them from a Referer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    // Answers carry personal data and session-bound views: no shared cache keeps them.
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A strict Content-Security-Policy for a page whose scripts and styles are inline: each block
/// is allowed by its SHA-256 alone, so an injected script or style never runs. The page may
/// call this origin's API and show images from it.
pub fn page_policy(html: &str) -> String {
    let hashes = |tag: &str| -> String {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let mut out = String::new();
        let mut rest = html;
        while let Some(start) = rest.find(&open) {
            let body = &rest[start + open.len()..];
            let Some(end) = body.find(&close) else { break };
            let digest = openssl::sha::sha256(&body.as_bytes()[..end]);
            out.push_str(&format!(" 'sha256-{}'", openssl::base64::encode_block(&digest)));
            rest = &body[end + close.len()..];
        }
        out
    };
    format!(
        "default-src 'none'; script-src{}; style-src{}; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        hashes("script"),
        hashes("style")
    )
}

/// A page and its policy, computed once.
pub struct Page {
    pub html: &'static str,
    pub policy: LazyLock<String>,
}

impl Page {
    pub fn respond(&self) -> Response {
        ([(header::CONTENT_SECURITY_POLICY, self.policy.as_str())], axum::response::Html(self.html)).into_response()
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Serves `app` on `listener` until `stop`: one hyper HTTP/1.1 connection per client, with the
/// header-read timeout, the connection limit and the peer's address for the limiter. In-flight
/// requests are given `grace` to finish at shutdown.
pub async fn serve(listener: TcpListener, app: Router, limits: EdgeLimits, mut stop: watch::Receiver<bool>) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        // Waiting for a slot before accepting leaves further clients in the kernel's backlog.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = stopped(&mut stop) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, or a client gone before its accept: wait, then go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            tower_service::Service::call(&mut app.clone(), request)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.request_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open at shutdown were closed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_64_and_a_mapped_ipv4_is_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        assert_eq!(client_key("::ffff:10.0.0.7".parse().unwrap()), "10.0.0.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_client_gets_its_allowance_then_waits_and_others_are_not_affected() {
        let clock = Clock::shiftable();
        let edge = Edge::new(EdgeLimits { guesses_per_minute: 3, ..EdgeLimits::default() }, clock.clone());
        let (me, other): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(edge.admit(Class::Guess, me), Ok(()));
        }
        let wait = edge.admit(Class::Guess, me).unwrap_err();
        assert!((1..=20).contains(&wait), "one request back every 20 s: {wait}");
        assert_eq!(edge.admit(Class::Guess, other), Ok(()), "another client has its own allowance");
        assert_eq!(edge.admit(Class::Session, me), Ok(()), "a session's requests are not counted by address");
        clock.advance(chrono::Duration::seconds(20));
        assert_eq!(edge.admit(Class::Guess, me), Ok(()));
    }

    #[test]
    fn a_page_policy_allows_exactly_its_own_inline_blocks() {
        let policy = page_policy("<style>b{}</style><script>go()</script><p>x</p><script>more()</script>");
        let sha = |s: &str| openssl::base64::encode_block(&openssl::sha::sha256(s.as_bytes()));
        assert!(policy.contains(&format!("script-src 'sha256-{}' 'sha256-{}';", sha("go()"), sha("more()"))), "{policy}");
        assert!(policy.contains(&format!("style-src 'sha256-{}';", sha("b{}"))), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"), "{policy}");
    }
}
