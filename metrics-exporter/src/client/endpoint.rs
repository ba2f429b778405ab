//! Where one request goes: a parsed `http`/`https` URL, and the URL a redirect names.

use http::{HeaderValue, Uri};

use super::credentials::{basic_authorization, has_invalid_port, redact_credentials};

/// A URL ready to request: scheme, host, port, `Host` header and any credentials from it.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Without the userinfo.
    pub(crate) uri: Uri,
    pub(crate) https: bool,
    /// Bare (IPv6 literals without brackets), for resolution and SNI.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `host[:port]`, as written in the URL.
    pub(crate) host_header: HeaderValue,
    /// From the URL's userinfo; marked sensitive, so `Debug` hides it.
    pub(crate) authorization: Option<HeaderValue>,
}

impl Endpoint {
    /// Parses `url`; errors never show its credentials.
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let shown = redact_credentials(url);
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{shown:?} is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("{shown:?}: the scheme must be http or https")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("{shown:?} has no host"))?;
        // IPv6 literals come bracketed in URLs; resolution and SNI want them bare.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let authority = uri
            .authority()
            .map_or_else(String::new, |a| a.as_str().to_owned());
        let host_port = authority
            .rsplit_once('@')
            .map_or(authority.as_str(), |(_, h)| h);
        // `Uri` reads no port from "x" or "99999" after the host's ':': that would silently probe
        // the default port.
        if has_invalid_port(&uri) {
            return Err(format!(
                "{shown:?}: the port must be a number from 0 to 65535"
            ));
        }
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authorization =
            basic_authorization(&authority).map_err(|e| format!("{shown:?}: {e}"))?;
        let host_header =
            HeaderValue::from_str(host_port).map_err(|e| format!("{shown:?}: host: {e}"))?;
        let mut parts = uri.into_parts();
        if authorization.is_some() {
            parts.authority = Some(
                host_port
                    .parse()
                    .map_err(|e| format!("{shown:?}: host: {e}"))?,
            );
        }
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        let uri = Uri::from_parts(parts).map_err(|e| format!("{shown:?}: {e}"))?;
        Ok(Self {
            uri,
            https,
            host,
            port,
            host_header,
            authorization,
        })
    }

    /// The path and query, `/` when empty.
    pub(crate) fn path(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }

    /// The endpoint a `Location` header names, relative to this one. Credentials are kept
    /// only while the host and port stay the same.
    pub(crate) fn follow(&self, location: &str) -> Result<Self, String> {
        let scheme = if self.https { "https" } else { "http" };
        let authority = self.host_header.to_str().unwrap_or_default();
        let absolute = if location.contains("://") {
            location.to_owned()
        } else if let Some(rest) = location.strip_prefix("//") {
            format!("{scheme}://{rest}")
        } else if location.starts_with('/') {
            format!("{scheme}://{authority}{location}")
        } else {
            // Relative to the current path's directory.
            let path = self.uri.path();
            let directory = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            format!("{scheme}://{authority}{directory}/{location}")
        };
        let mut next = Self::parse(&absolute)?;
        if next.authorization.is_none() && next.host == self.host && next.port == self.port {
            next.authorization.clone_from(&self.authorization);
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_current_url() {
        let base = Endpoint::parse("http://u:p@example.com:8080/a/b?q=1").unwrap();
        assert_eq!(base.path(), "/a/b?q=1");
        let cases = [
            ("/c", "http://example.com:8080/c"),
            ("c?d=e", "http://example.com:8080/a/c?d=e"),
            ("//other.test/x", "http://other.test/x"),
            ("https://secure.test/", "https://secure.test/"),
        ];
        for (location, expected) in cases {
            let next = base.follow(location).unwrap();
            assert_eq!(next.uri.to_string(), expected, "{location}");
        }
        assert!(base.follow("/c").unwrap().authorization.is_some());
        assert!(base
            .follow("//other.test/x")
            .unwrap()
            .authorization
            .is_none());
        assert!(base.follow("ftp://x/").is_err());
        assert_eq!(Endpoint::parse("http://h").unwrap().path(), "/");
    }
}
