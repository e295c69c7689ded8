//! Live view of pixelcnn-lab: `pixelcnn serve`, a read-only web application over the results
//! store.
//!
//! The server reads the store and nothing else, like the report: pages are HTML shells
//! (`templates/page.html`) that `assets/app.js` fills from JSON endpoints (`api.rs`), built from
//! the same loading and configuration grouping as the report (`views.rs`). A page polls a change
//! stamp (`live.rs`) every second and refetches when it moves, so a sweep's new epochs, statuses
//! and pictures appear without a reload. Every asset is compiled in (`assets.rs`): the pages work
//! offline. No endpoint writes to the store; off loopback every request needs the access token
//! (`auth.rs`).

mod api;
mod assets;
mod auth;
mod error;
mod live;
mod pages;
mod views;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use pixelcnn_store::Store;

pub use error::{Result, ServeError};

/// The port `pixelcnn serve` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8731;

/// Where and how to listen.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Address to bind; loopback by default, so that nothing is reachable from elsewhere.
    pub host: IpAddr,
    /// Port; 0 picks a free one (tests).
    pub port: u16,
    /// Access token. Required off loopback: when none is given there, one is generated.
    pub token: Option<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions { host: IpAddr::V4(Ipv4Addr::LOCALHOST), port: DEFAULT_PORT, token: None }
    }
}

/// What every handler reads.
#[derive(Clone)]
pub(crate) struct AppState {
    /// The results store, read only.
    pub store: Store,
    /// The store for page headers (`display_url`: no password).
    pub db: Arc<str>,
}

/// A bound server, not yet serving: its address is known (port 0 resolved), so the caller can
/// print it before [`Server::run`] blocks.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
    url: String,
    generated_token: bool,
}

impl Server {
    /// Binds the address in `options` over `store`, which the caller has opened (and so checked).
    pub async fn bind(store: Store, options: ServeOptions) -> Result<Server> {
        let mut token = options.token.filter(|t| !t.is_empty());
        let generated_token = token.is_none() && !options.host.is_loopback();
        if generated_token {
            token = Some(auth::generate_token());
        }
        let address = SocketAddr::new(options.host, options.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ServeError::Bind { address, source })?;
        let bound = listener.local_addr().map_err(|source| ServeError::Bind { address, source })?;
        let host = match bound.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        let mut url = format!("http://{host}:{}/", bound.port());
        if let Some(token) = &token {
            url.push_str(&format!("?token={token}"));
        }
        let db: Arc<str> = Arc::from(pixelcnn_store::display_url(store.location()));
        let router = router(AppState { store, db }, token);
        Ok(Server { listener, router, url, generated_token })
    }

    /// The address to open, with the token when one is required.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the token was generated here (the caller prints it: there is no other way to
    /// learn it).
    pub fn generated_token(&self) -> bool {
        self.generated_token
    }

    /// Serves until interrupted (Ctrl-C or SIGTERM).
    pub async fn run(self) -> Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|source| ServeError::Serve { source })
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! { _ = interrupt => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Every route. Only GET exists: nothing here changes the store.
fn router(state: AppState, token: Option<String>) -> Router {
    Router::new()
        .route("/", get(pages::experiments))
        .route("/experiments/{name}", get(pages::experiment))
        .route("/experiments/{name}/report", get(pages::report))
        .route("/runs/{id}", get(pages::run))
        .route("/compare", get(pages::compare))
        .route("/assets/{file}", get(assets::asset))
        .route("/pictures/{id}", get(api::picture))
        .route("/api/experiments", get(api::experiments))
        .route("/api/experiments/{name}", get(api::experiment))
        .route("/api/experiments/{name}/curves", get(api::curves))
        .route("/api/runs/{id}", get(api::run))
        .route("/api/compare", get(api::compare))
        .route("/api/stamp", get(live::stamp))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(auth::Guard::new(token), auth::require_token))
        .layer(axum::middleware::from_fn(error::security_headers))
        .with_state(state)
}
