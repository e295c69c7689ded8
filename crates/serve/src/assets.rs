//! The files every page loads, compiled into the binary: the pages work offline, and no name a
//! request gives can reach the file system.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Name, media type and contents of each asset.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../assets/app.js")),
    ("serve.css", "text/css; charset=utf-8", include_bytes!("../assets/serve.css")),
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_bytes!("../assets/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("../assets/uPlot.min.css")),
    ("uPlot.LICENSE", "text/plain; charset=utf-8", include_bytes!("../assets/uPlot.LICENSE")),
];

/// `GET /assets/NAME`: one of [`ASSETS`], else 404.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, media_type, bytes)) => {
            ([(header::CONTENT_TYPE, *media_type), (header::CACHE_CONTROL, "no-cache")], *bytes)
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}
