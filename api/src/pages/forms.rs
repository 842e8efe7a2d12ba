//! What every page form relies on: it is accepted only from this origin (the browser's
//! `Sec-Fetch-Site`, or else `Origin` against `Host`), and sessions travel in HTTP-only,
//! same-site cookies that scripts cannot read and other sites cannot send.

use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

/// Whether a form post came from one of this origin's pages. A browser always says where a
/// request comes from (`Sec-Fetch-Site`, or at least `Origin` on a POST); a request that says
/// neither is not a browser's, so it carries no victim's cookies and is let through.
pub fn from_this_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match (headers.get(ORIGIN).and_then(|v| v.to_str().ok()), headers.get(HOST).and_then(|v| v.to_str().ok())) {
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Sets a session cookie on `response`: HTTP-only, sent to this site only, for `path` and below,
/// ending with the browser session.
pub fn set_cookie(response: &mut Response, name: &str, value: &str, path: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict")) {
        response.headers_mut().append(SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_form_from_another_site_is_refused() {
        assert!(from_this_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!from_this_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!from_this_origin(&headers(&[("sec-fetch-site", "same-site")])), "a sibling subdomain is another site here");
        assert!(from_this_origin(&headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")])));
        assert!(!from_this_origin(&headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:8080")])));
        assert!(from_this_origin(&headers(&[])), "not a browser: no cookies of a victim to ride on");
    }

    #[test]
    fn a_cookie_is_found_by_its_exact_name() {
        let h = headers(&[("cookie", "lang=en; diia_qr_simulator=abc; x=diia_qr_simulator")]);
        assert_eq!(cookie(&h, "diia_qr_simulator").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "diia_qr"), None);
    }
}
