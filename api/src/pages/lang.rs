//! The language of a page: Ukrainian unless the person chose English. The choice is a link
//! (`?lang=en`, `?lang=uk`) and is remembered in a cookie, so it holds from page to page.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::response::Response;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Uk,
    En,
}

impl Lang {
    pub const COOKIE: &'static str = "lang";

    fn parse(value: &str) -> Option<Self> {
        match value {
            "uk" => Some(Self::Uk),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Uk => "uk",
            Self::En => "en",
        }
    }

    /// An instant as this language's pages write it, in Kyiv time.
    pub fn kyiv_time(self, at: chrono::DateTime<chrono::Utc>) -> String {
        match self {
            Self::Uk => diia_qr_projections::documents::wording::kyiv_time(at),
            Self::En => diia_qr_projections::documents::wording::kyiv_time_en(at),
        }
    }

    /// A document type's title in this language.
    pub fn document_title(self, d: diia_qr_domain::documents::DocumentType) -> &'static str {
        match self {
            Self::Uk => d.title_uk(),
            Self::En => d.title_en(),
        }
    }

    /// The other language, the one the switch offers.
    pub fn other(self) -> Self {
        match self {
            Self::Uk => Self::En,
            Self::En => Self::Uk,
        }
    }

    /// The language named by `?lang=` in a query string, if any.
    fn from_query(query: Option<&str>) -> Option<Self> {
        query?.split('&').filter_map(|pair| pair.strip_prefix("lang=")).find_map(Self::parse)
    }

    fn from_cookies(parts: &Parts) -> Option<Self> {
        parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix("lang="))
            .find_map(Self::parse)
    }

    /// The language of a request: the query's choice, else the remembered one, else Ukrainian.
    pub fn of(parts: &Parts) -> Self {
        Self::from_query(parts.uri.query()).or_else(|| Self::from_cookies(parts)).unwrap_or(Self::Uk)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

/// Remembers a language chosen by `?lang=` (a year, this site only, not readable by scripts).
pub async fn remember_choice(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let chosen = Lang::from_query(request.uri().query());
    let mut response = next.run(request).await;
    if let Some(lang) = chosen {
        let cookie = format!("{}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly", Lang::COOKIE, lang.code());
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, cookie: Option<&str>) -> Parts {
        let mut builder = axum::http::Request::builder().uri(uri);
        if let Some(c) = cookie {
            builder = builder.header(COOKIE, c);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn ukrainian_unless_english_is_chosen_and_the_choice_is_remembered() {
        assert_eq!(Lang::of(&parts("/", None)), Lang::Uk);
        assert_eq!(Lang::of(&parts("/?lang=en", None)), Lang::En);
        assert_eq!(Lang::of(&parts("/", Some("a=b; lang=en"))), Lang::En);
        assert_eq!(Lang::of(&parts("/?lang=uk", Some("lang=en"))), Lang::Uk, "a new choice wins");
        assert_eq!(Lang::of(&parts("/?lang=fr", Some("lang=xx"))), Lang::Uk, "an unknown one is ignored");
    }
}
