//! The access token. On loopback (the default) nothing is asked: only this machine's users reach
//! the port. Bound to any other address, every request, assets included, must carry the token:
//! in the `?token=` of the printed URL (answered with a cookie, so the page's own requests carry
//! it), in that cookie, or as `Authorization: Bearer TOKEN` for scripts.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie that carries the token after the first visit.
const COOKIE: &str = "pixelcnn_token";

/// The token required, if any.
#[derive(Clone)]
pub(crate) struct Guard {
    token: Option<Arc<str>>,
}

impl Guard {
    /// A guard requiring `token` (none: every request passes).
    pub fn new(token: Option<String>) -> Self {
        Guard { token: token.map(Arc::from) }
    }
}

/// A fresh token: 244 random bits (two v4 UUIDs), hex.
pub(crate) fn generate_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// Equal without an early exit, so the time taken says nothing of how much of a guess matched.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn from_query(request: &Request) -> Option<String> {
    let query = request.uri().query()?;
    query.split('&').find_map(|pair| pair.strip_prefix("token=")).map(str::to_owned)
}

fn from_headers(headers: &HeaderMap) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        found.push(bearer.trim().to_owned());
    }
    for cookies in headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        for cookie in cookies.split(';') {
            if let Some(value) = cookie.trim().strip_prefix(COOKIE).and_then(|v| v.strip_prefix('=')) {
                found.push(value.to_owned());
            }
        }
    }
    found
}

/// Lets a request through when no token is required or it carries the right one; 401 otherwise.
pub(crate) async fn require_token(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let Some(token) = guard.token.clone() else { return next.run(request).await };
    let in_query = from_query(&request).filter(|t| same(t, &token)).is_some();
    let in_headers = from_headers(request.headers()).iter().any(|t| same(t, &token));
    if !in_query && !in_headers {
        return (
            StatusCode::UNAUTHORIZED,
            "401: this server needs its access token. Open the address `pixelcnn serve` printed \
             (it ends in ?token=...), or send `Authorization: Bearer TOKEN`.\n",
        )
            .into_response();
    }
    let mut response = next.run(request).await;
    if in_query && !in_headers {
        let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
        let token = generate_token();
        assert_eq!(token.len(), 64);
        assert_ne!(token, generate_token());
    }

    #[test]
    fn tokens_are_found_in_headers_and_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t1"));
        headers.insert(header::COOKIE, HeaderValue::from_static("a=b; pixelcnn_token=t2"));
        assert_eq!(from_headers(&headers), ["t1", "t2"]);
    }
}
