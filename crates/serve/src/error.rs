//! Errors: [`ServeError`] at start (the caller prints it and exits non-zero), [`PageError`] for a
//! request (a 404 or 500 page, or JSON for the API).

use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken or not ours.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// What was asked for.
        address: SocketAddr,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The server failed while serving.
    #[error("the server stopped: {source}")]
    Serve {
        /// Why.
        source: std::io::Error,
    },
}

/// Result of starting a server.
pub type Result<T> = std::result::Result<T, ServeError>;

/// Why one request failed.
#[derive(Debug)]
pub(crate) enum PageError {
    /// No such experiment, run or picture: what was asked for, for the page.
    NotFound(String),
    /// The request itself is wrong (a comparison of one run, say).
    BadRequest(String),
    /// Reading the store failed.
    Internal(String),
}

impl From<pixelcnn_store::StoreError> for PageError {
    fn from(e: pixelcnn_store::StoreError) -> Self {
        match e {
            pixelcnn_store::StoreError::RunNotFound { prefix, .. } => {
                PageError::NotFound(format!("no run {prefix}"))
            }
            pixelcnn_store::StoreError::AmbiguousPrefix { .. } => PageError::BadRequest(e.to_string()),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<pixelcnn_report::ReportError> for PageError {
    fn from(e: pixelcnn_report::ReportError) -> Self {
        match e {
            pixelcnn_report::ReportError::UnknownExperiment { name, .. } => {
                PageError::NotFound(format!("no experiment {name}"))
            }
            pixelcnn_report::ReportError::Store(e) => e.into(),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl PageError {
    /// The status code and message.
    pub fn parts(&self) -> (StatusCode, &str) {
        match self {
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            PageError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
        }
    }

    /// The error as a JSON body `{"error": ...}`, for the API.
    pub fn json(self) -> Response {
        let (status, message) = self.parts();
        if status.is_server_error() {
            tracing::error!("{message}");
        }
        (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
    }
}

/// Headers on every response: scripts only from this server (so markup that slipped into a page
/// could not run), no sniffing of pictures into scripts, no framing.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
