//! [`ResponseHeaders`]: the web-config.yml `http_server_config.headers`.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::SecurityError;

/// The headers exporter-toolkit lets a web-config.yml add, and the values each accepts (empty:
/// any). Names are matched exactly as exporter-toolkit does, case included.
const ALLOWED: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

const FIELD: &str = "http_server_config.headers";

/// Headers added to every answer of [`Exporter::serve`](crate::Exporter::serve).
#[derive(Debug, Clone, Default)]
pub(crate) struct ResponseHeaders(pub(crate) HeaderMap);

impl ResponseHeaders {
    /// Validates `name: value` pairs as exporter-toolkit does: only the five headers it
    /// allows, the enumerated ones with one of their values. A blank free-form value leaves
    /// the header unset (as documented there).
    pub(crate) fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, SecurityError> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            let Some((_, values)) = ALLOWED.iter().find(|(allowed, _)| *allowed == name) else {
                let names: Vec<&str> = ALLOWED.iter().map(|(n, _)| *n).collect();
                return Err(SecurityError::unsupported(
                    FIELD,
                    format!("HTTP header {name:?} can not be configured: use one of {names:?}"),
                ));
            };
            if !values.is_empty() && !values.contains(&value) {
                return Err(SecurityError::invalid(
                    FIELD,
                    format!("invalid value for {name}: expected one of {values:?}"),
                ));
            }
            if value.is_empty() {
                continue;
            }
            let value = HeaderValue::from_str(value).map_err(|_| {
                SecurityError::malformed(
                    FIELD,
                    format!("the value of {name} is not a valid header value"),
                )
            })?;
            headers.insert(HeaderName::from_static(lower(name)), value);
        }
        Ok(Self(headers))
    }
}

/// The lower-case form of an allowed name (`HeaderName::from_static` wants it).
fn lower(name: &str) -> &'static str {
    match name {
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "content-security-policy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_headers_and_values() {
        let headers = ResponseHeaders::parse([
            ("X-Frame-Options", "deny"),
            ("Content-Security-Policy", "default-src 'self'"),
            ("Strict-Transport-Security", ""),
        ])
        .unwrap()
        .0;
        assert_eq!(headers.len(), 2);
        assert_eq!(headers["x-frame-options"], "deny");
        assert_eq!(headers["content-security-policy"], "default-src 'self'");
    }

    #[test]
    fn refused_names_and_values_are_named() {
        for (name, value, says) in [
            ("Server", "x", "\"Server\""),
            ("x-frame-options", "deny", "\"x-frame-options\""),
            ("X-Frame-Options", "allow", "X-Frame-Options"),
            ("X-Content-Type-Options", "", "X-Content-Type-Options"),
            ("X-XSS-Protection", "1\nx", "X-XSS-Protection"),
        ] {
            let error = ResponseHeaders::parse([(name, value)]).unwrap_err();
            assert_eq!(error.field(), FIELD);
            assert!(error.to_string().contains(says), "{error}");
        }
    }
}
