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

    /// Whether `other` has the same scheme, host and port: where credentials and sensitive
    /// headers may follow a redirect.
    pub(crate) fn same_origin(&self, other: &Self) -> bool {
        self.https == other.https
            && self.host.eq_ignore_ascii_case(&other.host)
            && self.port == other.port
    }

    /// The endpoint a `Location` header names, resolved against this one as RFC 3986 (§5.2)
    /// resolves a reference. Credentials are kept only while the scheme, host and port stay
    /// the same.
    pub(crate) fn follow(&self, location: &str) -> Result<Self, String> {
        let scheme = if self.https { "https" } else { "http" };
        let authority = self.host_header.to_str().unwrap_or_default();
        let base_path = self.uri.path();
        let base_query = self.uri.query();
        let absolute = resolve_reference(scheme, authority, base_path, base_query, location);
        let mut next = Self::parse(&absolute)?;
        if next.authorization.is_none() && self.same_origin(&next) {
            next.authorization.clone_from(&self.authorization);
        }
        Ok(next)
    }
}

/// The parts of a URI reference (RFC 3986 §4.1), the fragment dropped: a redirect's
/// fragment is not sent.
struct Reference<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
}

fn split_reference(reference: &str) -> Reference<'_> {
    let reference = reference.split_once('#').map_or(reference, |(r, _)| r);
    // A scheme only when a ':' comes before any '/', '?' or '#' (RFC 3986 §3.1, §4.2), and the
    // text before it is a scheme name.
    let delimiter = reference.find(['/', '?']).unwrap_or(reference.len());
    let (scheme, rest) = match reference[..delimiter].split_once(':') {
        Some((scheme, _))
            if scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            (Some(scheme), &reference[scheme.len() + 1..])
        }
        _ => (None, reference),
    };
    let (authority, rest) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find(['/', '?']).unwrap_or(after.len());
            (Some(&after[..end]), &after[end..])
        }
        None => (None, rest),
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    Reference {
        scheme,
        authority,
        path,
        query,
    }
}

/// Resolves `reference` against a base URL of `scheme`, `authority`, `path` and `query`
/// (RFC 3986 §5.2.2, with the merge of §5.2.3 and dot-segment removal of §5.2.4).
fn resolve_reference(
    scheme: &str,
    authority: &str,
    path: &str,
    query: Option<&str>,
    reference: &str,
) -> String {
    let r = split_reference(reference.trim());
    let (scheme, authority, path, query) = if let Some(r_scheme) = r.scheme {
        (
            r_scheme,
            r.authority.unwrap_or_default(),
            remove_dot_segments(r.path),
            r.query,
        )
    } else if let Some(r_authority) = r.authority {
        (scheme, r_authority, remove_dot_segments(r.path), r.query)
    } else if r.path.is_empty() {
        (scheme, authority, path.to_owned(), r.query.or(query))
    } else if r.path.starts_with('/') {
        (scheme, authority, remove_dot_segments(r.path), r.query)
    } else {
        // Merge: the base path up to its last '/', then the reference (§5.2.3).
        let directory = path.rfind('/').map_or("/", |i| &path[..=i]);
        let merged = format!("{directory}{}", r.path);
        (scheme, authority, remove_dot_segments(&merged), r.query)
    };
    let mut url = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// RFC 3986 §5.2.4: `.` and `..` segments removed from `path`.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let absolute = path.starts_with('/');
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    // A path ending in "/", "/." or "/.." names a directory: it keeps its trailing '/'.
    let mut trailing_slash = false;
    for (i, segment) in segments.iter().enumerate() {
        if i == 0 && absolute {
            continue;
        }
        match *segment {
            "." => trailing_slash = i == last,
            ".." => {
                output.pop();
                trailing_slash = i == last;
            }
            other => {
                if i == last && other.is_empty() {
                    trailing_slash = true;
                } else {
                    output.push(other);
                    trailing_slash = false;
                }
            }
        }
    }
    let mut result = String::with_capacity(path.len());
    if absolute {
        result.push('/');
    }
    result.push_str(&output.join("/"));
    if trailing_slash && !output.is_empty() {
        result.push('/');
    }
    result
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

    #[test]
    fn locations_resolve_as_rfc_3986_references() {
        let base = Endpoint::parse("http://example.com:8080/a/b/c?q=1").unwrap();
        let cases = [
            ("?x=2", "http://example.com:8080/a/b/c?x=2"),
            ("", "http://example.com:8080/a/b/c?q=1"),
            ("#part", "http://example.com:8080/a/b/c?q=1"),
            ("./d", "http://example.com:8080/a/b/d"),
            ("d/", "http://example.com:8080/a/b/d/"),
            (".", "http://example.com:8080/a/b/"),
            ("..", "http://example.com:8080/a/"),
            ("../d", "http://example.com:8080/a/d"),
            ("../../d", "http://example.com:8080/d"),
            ("../../../../d", "http://example.com:8080/d"),
            ("/x/./y/../z", "http://example.com:8080/x/z"),
            ("//other.test/x/../y", "http://other.test/y"),
            ("//other.test", "http://other.test/"),
            // "://" in the query is no scheme: only a ':' before any '/', '?' or '#' is.
            (
                "/next?to=https://elsewhere.test/",
                "http://example.com:8080/next?to=https://elsewhere.test/",
            ),
            (
                "d?to=http://x/",
                "http://example.com:8080/a/b/d?to=http://x/",
            ),
            ("HTTPS://secure.test/p", "https://secure.test/p"),
            ("http://h.test/a/../b", "http://h.test/b"),
        ];
        for (location, expected) in cases {
            let next = base.follow(location).unwrap();
            assert_eq!(next.uri.to_string(), expected, "{location:?}");
        }
        // A scheme the client does not speak (RFC 3986's "g:h").
        assert!(base.follow("g:h").is_err());
        assert!(base.follow("mailto:x@y").is_err());
    }

    #[test]
    fn credentials_follow_the_same_scheme_host_and_port_only() {
        let base = Endpoint::parse("http://u:p@example.com:8080/").unwrap();
        assert!(base.follow("/x").unwrap().authorization.is_some());
        assert!(base
            .follow("http://EXAMPLE.com:8080/x")
            .unwrap()
            .authorization
            .is_some());
        for elsewhere in [
            "https://example.com:8080/",
            "http://example.com:8081/",
            "http://example.org:8080/",
        ] {
            let next = base.follow(elsewhere).unwrap();
            assert!(next.authorization.is_none(), "{elsewhere}");
            assert!(!base.same_origin(&next), "{elsewhere}");
        }
    }
}
