//! Credentials in URLs (`scheme://user:password@host/`): kept out of labels, logs and errors.

use std::borrow::Cow;

use base64::Engine;
use http::HeaderValue;

/// `url` without its userinfo (`user:password@`): the form fit for a label.
///
/// Text that is not a URL with credentials comes back unchanged.
pub fn url_without_credentials(url: &str) -> Cow<'_, str> {
    rewrite_userinfo(url, "")
}

/// `text` with the userinfo (`user:password@`) of every URL in it replaced by `***@`: the form
/// fit for a log line, an error message or a `Debug` output.
///
/// A URL ends at whitespace or a quote. When one does not parse, everything up to its last `@`
/// is taken as userinfo, so that a malformed URL does not show its password either.
pub fn redact_credentials(text: &str) -> Cow<'_, str> {
    rewrite_userinfo(text, "***@")
}

/// Replaces `userinfo@` of every `scheme://` URL in `text` with `replacement`.
fn rewrite_userinfo<'a>(text: &'a str, replacement: &str) -> Cow<'a, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let authority_start = search + found + 3;
        let url_end = text[authority_start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .map_or(text.len(), |i| authority_start + i);
        let scheme_start = text[..search + found]
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |(i, c)| i + c.len_utf8());
        if let Some(at) = userinfo_end(&text[scheme_start..url_end], authority_start - scheme_start)
        {
            out.push_str(&text[copied..authority_start]);
            out.push_str(replacement);
            copied = scheme_start + at + 1;
        }
        search = url_end.max(authority_start);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The index in `url` of the `@` that ends its userinfo, if it has one; the authority starts at
/// `authority_start`.
fn userinfo_end(url: &str, authority_start: usize) -> Option<usize> {
    let rest = url.get(authority_start..)?;
    let authority_len = match url.parse::<http::Uri>() {
        // A parsed authority is the text right after "://".
        Ok(uri) if !has_invalid_port(&uri) => match uri.authority() {
            Some(authority) if rest.starts_with(authority.as_str()) => authority.as_str().len(),
            _ => return None,
        },
        // Unparsable, or a "port" that is none ("user:pass/word@host"): assume the worst,
        // the whole rest may hold a password.
        _ => rest.len(),
    };
    rest[..authority_len]
        .rfind('@')
        .map(|at| authority_start + at)
}

/// Whether `uri` has text after its host's `:` that is not a port number: `Uri` accepts it, and
/// reads no port from it.
pub(crate) fn has_invalid_port(uri: &http::Uri) -> bool {
    let Some(authority) = uri.authority() else {
        return false;
    };
    let host_port = authority
        .as_str()
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, h)| h);
    // Past an IPv6 literal's brackets, whose colons are no port's.
    let after_host = host_port.rsplit_once(']').map_or(host_port, |(_, p)| p);
    matches!(after_host.rsplit_once(':'), Some((_, port)) if !port.is_empty())
        && uri.port_u16().is_none()
}

/// The credentials of a URL's userinfo, decoded, as an `Authorization: Basic` header value
/// (marked sensitive, so `Debug` hides it). `None` without userinfo; `Err` when its
/// percent-encoding is invalid (the message quotes nothing of it).
pub(crate) fn basic_authorization(authority: &str) -> Result<Option<HeaderValue>, String> {
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return Ok(None);
    };
    // The user name cannot hold ':' unencoded; the password may.
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let mut plain = percent_decode(user)
        .ok_or("the user name in the URL has invalid percent-encoding (use %XX)")?;
    plain.push(b':');
    plain.extend(
        percent_decode(password)
            .ok_or("the password in the URL has invalid percent-encoding (use %XX)")?,
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(plain);
    let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
        .map_err(|_| "the URL's credentials do not fit a header".to_owned())?;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// Decodes `%XX` escapes; `None` when one is malformed.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_removed_or_masked_wherever_urls_appear() {
        let cases = [
            ("http://u:p@h/", "http://h/", "http://***@h/"),
            (
                "http://u@[::1]:80/a@b",
                "http://[::1]:80/a@b",
                "http://***@[::1]:80/a@b",
            ),
            ("http://h/a@b", "http://h/a@b", "http://h/a@b"),
            (
                "no url here @ all",
                "no url here @ all",
                "no url here @ all",
            ),
            // Unparsable: everything to the last '@' is hidden.
            ("http://u:p/w@h:x/", "http://h:x/", "http://***@h:x/"),
            (
                "a \"https://a:b@c/\" and 'http://d:e@f'.",
                "a \"https://c/\" and 'http://f'.",
                "a \"https://***@c/\" and 'http://***@f'.",
            ),
            ("é://u:p@h é", "é://h é", "é://***@h é"),
        ];
        for (text, without, redacted) in cases {
            assert_eq!(url_without_credentials(text), without, "{text}");
            assert_eq!(redact_credentials(text), redacted, "{text}");
        }
    }

    #[test]
    fn userinfo_becomes_basic_credentials() {
        let header =
            |authority| basic_authorization(authority).map(|v| v.map(|v| v.as_bytes().to_vec()));
        assert_eq!(header("h:1"), Ok(None));
        // "Aladdin:open sesame", RFC 7617's example.
        assert_eq!(
            header("Aladdin:open%20sesame@h"),
            Ok(Some(b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".to_vec()))
        );
        assert_eq!(header("u@h"), Ok(Some(b"Basic dTo=".to_vec())));
        assert!(header("u:%zz@h").is_err());
        assert!(header("u:%2@h").is_err());
        assert!(basic_authorization("u:p@h")
            .unwrap()
            .unwrap()
            .is_sensitive());
    }
}
