//! What every page form relies on: it is accepted only from this origin (the browser's
//! `Sec-Fetch-Site`, or else `Origin` against `Host`), and sessions travel in HTTP-only,
//! same-site cookies that scripts cannot read and other sites cannot send.

use axum::body::Bytes;
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

/// Ends a session cookie: the same attributes, empty and already expired.
pub fn clear_cookie(response: &mut Response, name: &str, path: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("{name}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0")) {
        response.headers_mut().append(SET_COOKIE, v);
    }
}

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

/// The anti-forgery token of the session whose token is `session`: a hidden field of every form
/// a signed-in page shows. Another site can neither read the session cookie nor this page, so it
/// cannot put the right value in a forged form; a hash keeps the session token itself out of the
/// page.
pub fn csrf_token(session: &str) -> String {
    use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
    let mut input = b"diia-qr csrf\0".to_vec();
    input.extend_from_slice(session.as_bytes());
    BASE64_URL_SAFE_NO_PAD.encode(openssl::sha::sha256(&input))
}

/// Whether a signed-in form may act: posted from this origin and carrying its session's token
/// (compared in constant time).
pub fn genuine_form(headers: &HeaderMap, session: &str, submitted: &str) -> bool {
    let expected = csrf_token(session);
    from_this_origin(headers) && expected.len() == submitted.len() && openssl::memcmp::eq(expected.as_bytes(), submitted.as_bytes())
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
/// ending with the browser session; `Secure` (HTTPS only) when the engine is served over HTTPS
/// or on loopback, where browsers honour it over plain HTTP too.
pub fn set_cookie(response: &mut Response, base_url: &str, name: &str, value: &str, path: &str) {
    let secure = base_url.starts_with("https://")
        || ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|loopback| base_url.starts_with(loopback));
    let secure = if secure { "; Secure" } else { "" };
    if let Ok(v) = HeaderValue::from_str(&format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict{secure}")) {
        response.headers_mut().append(SET_COOKIE, v);
    }
}

/// A form's fields, as the browser sent them (a name may repeat: checkboxes).
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses a urlencoded body; a body that is not one reads as no fields.
    pub fn parse(body: &Bytes) -> Self {
        Self(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
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
    fn a_forged_form_lacks_its_sessions_token() {
        let same = headers(&[("sec-fetch-site", "same-origin")]);
        let token = csrf_token("session-a");
        assert!(genuine_form(&same, "session-a", &token));
        assert!(!genuine_form(&same, "session-b", &token), "another session's token");
        assert!(!genuine_form(&same, "session-a", ""), "no token");
        assert!(!genuine_form(&headers(&[("sec-fetch-site", "cross-site")]), "session-a", &token));
        assert!(!token.contains("session-a"));
    }

    #[test]
    fn a_cookie_is_found_by_its_exact_name() {
        let h = headers(&[("cookie", "lang=en; diia_qr_simulator=abc; x=diia_qr_simulator")]);
        assert_eq!(cookie(&h, "diia_qr_simulator").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "diia_qr"), None);
    }
}
