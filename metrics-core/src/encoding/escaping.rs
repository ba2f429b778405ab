//! How names that are not legacy-valid are written: Prometheus' `escaping=` schemes.
//!
//! Prometheus 3 stores any UTF-8 metric or label name; older scrapers accept only
//! `[a-zA-Z_:][a-zA-Z0-9_:]*`. A scraper says in its `Accept` header which it wants
//! (`escaping=allow-utf-8` or one of the three escapings) and the answer says in its
//! `Content-Type` which it used. Only names that are not legacy-valid are ever changed: the
//! families of this crate are written as they are in every scheme.

use std::borrow::Cow;
use std::fmt;

/// How names that are not legacy-valid (`[a-zA-Z_:][a-zA-Z0-9_:]*`) are written, as
/// Prometheus' `model.EscapingScheme` defines it. Legacy-valid names are written unchanged in
/// every scheme.
///
/// ```
/// use metrics_toolkit::encoding::Escaping;
///
/// assert_eq!(Escaping::Underscores.escape_name("my.requests"), "my_requests");
/// assert_eq!(Escaping::Dots.escape_name("my.http_requests"), "my_dot_http__requests");
/// assert_eq!(Escaping::Values.escape_name("my.requests"), "U__my_2e_requests");
/// assert_eq!(Escaping::AllowUtf8.escape_name("my.requests"), "my.requests");
/// // Legacy-valid names never change.
/// assert_eq!(Escaping::Dots.escape_name("http_requests"), "http_requests");
/// assert_eq!(Escaping::parse("underscores"), Some(Escaping::Underscores));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Escaping {
    /// `allow-utf-8`: names are written as they are; those that are not legacy-valid are
    /// quoted (`{"my.requests_total"} 1`), which only UTF-8-aware scrapers (Prometheus 3) read.
    AllowUtf8,
    /// `underscores`: every character that is not legacy-valid becomes `_`. Prometheus' default
    /// for a scraper that does not ask for an escaping, and ours.
    #[default]
    Underscores,
    /// `dots`: `.` becomes `_dot_`, `_` becomes `__`, any other character that is not
    /// legacy-valid becomes `__`.
    Dots,
    /// `values`: the name is prefixed with `U__`, `_` becomes `__`, and any other character that
    /// is not legacy-valid becomes its code point in lower-case hex between underscores
    /// (`.` is `_2e_`).
    Values,
}

impl Escaping {
    /// The value of the `escaping=` parameter naming this scheme.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllowUtf8 => "allow-utf-8",
            Self::Underscores => "underscores",
            Self::Dots => "dots",
            Self::Values => "values",
        }
    }

    /// The scheme an `escaping=` parameter value names (exactly, as Prometheus compares it);
    /// `None` for any other value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "allow-utf-8" => Some(Self::AllowUtf8),
            "underscores" => Some(Self::Underscores),
            "dots" => Some(Self::Dots),
            "values" => Some(Self::Values),
            _ => None,
        }
    }

    /// `name` as this scheme writes it: unchanged when it is legacy-valid or the scheme is
    /// [`AllowUtf8`](Self::AllowUtf8) (quoting is the writer's business), escaped otherwise.
    pub fn escape_name(self, name: &str) -> Cow<'_, str> {
        if self == Self::AllowUtf8 || is_legacy_name(name) {
            return Cow::Borrowed(name);
        }
        let mut out = String::with_capacity(name.len() + 8);
        push_escaped(&mut out, name, self);
        Cow::Owned(out)
    }
}

impl fmt::Display for Escaping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`, the names every scraper reads. Label names
/// are checked with the same rule, as Prometheus does when it escapes (a `:` needs no escape).
pub(crate) fn is_legacy_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .enumerate()
            .all(|(index, &byte)| is_legacy_byte(byte, index))
}

#[inline]
fn is_legacy_byte(byte: u8, index: usize) -> bool {
    byte.is_ascii_alphabetic()
        || byte == b'_'
        || byte == b':'
        || (index > 0 && byte.is_ascii_digit())
}

/// Appends `name` escaped with `scheme` (not [`Escaping::AllowUtf8`]) to `out`, assuming it is
/// not legacy-valid. Indices are byte offsets, as Prometheus counts them: only the first
/// character may not be a digit.
pub(crate) fn push_escaped(out: &mut String, name: &str, scheme: Escaping) {
    if scheme == Escaping::Values {
        out.push_str("U__");
    }
    for (index, c) in name.char_indices() {
        let legacy = c.is_ascii() && is_legacy_byte(c as u8, index);
        match scheme {
            Escaping::AllowUtf8 => out.push(c),
            Escaping::Underscores => out.push(if legacy { c } else { '_' }),
            Escaping::Dots => match c {
                '_' => out.push_str("__"),
                '.' => out.push_str("_dot_"),
                _ if legacy => out.push(c),
                _ => out.push_str("__"),
            },
            Escaping::Values => match c {
                '_' => out.push_str("__"),
                _ if legacy => out.push(c),
                _ => {
                    use fmt::Write;
                    let _ = write!(out, "_{:x}_", u32::from(c));
                }
            },
        }
    }
}

/// Appends `name` quoted as a UTF-8 name in the text formats (`"my.requests"`, with `\`, `"`
/// and newlines escaped as in label values).
pub(crate) fn push_quoted(out: &mut String, name: &str) {
    out.push('"');
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_names() {
        for name in ["a", "_", ":", "a1", "http_server:rate5m", "A_b"] {
            assert!(is_legacy_name(name), "{name}");
        }
        for name in ["", "1a", "a.b", "a-b", "é", "a b", "a\"b"] {
            assert!(!is_legacy_name(name), "{name}");
        }
    }

    #[test]
    fn each_scheme_escapes_as_prometheus_does() {
        let cases = [
            (
                "my.requests",
                "my_requests",
                "my_dot_requests",
                "U__my_2e_requests",
            ),
            (
                "my.http_requests",
                "my_http_requests",
                "my_dot_http__requests",
                "U__my_2e_http__requests",
            ),
            ("1st", "_st", "__st", "U___31_st"),
            ("temp°c", "temp_c", "temp__c", "U__temp_b0_c"),
            ("ünïcode", "_n_code", "__n__code", "U___fc_n_ef_code"),
            ("a-b.c", "a_b_c", "a__b_dot_c", "U__a_2d_b_2e_c"),
            ("emoji😀", "emoji_", "emoji__", "U__emoji_1f600_"),
        ];
        for (name, underscores, dots, values) in cases {
            assert_eq!(
                Escaping::Underscores.escape_name(name),
                underscores,
                "{name}"
            );
            assert_eq!(Escaping::Dots.escape_name(name), dots, "{name}");
            assert_eq!(Escaping::Values.escape_name(name), values, "{name}");
            assert_eq!(Escaping::AllowUtf8.escape_name(name), name);
        }
    }

    #[test]
    fn legacy_names_are_never_changed() {
        for scheme in [
            Escaping::AllowUtf8,
            Escaping::Underscores,
            Escaping::Dots,
            Escaping::Values,
        ] {
            assert!(matches!(
                scheme.escape_name("http_server_requests_total"),
                Cow::Borrowed("http_server_requests_total")
            ));
        }
    }

    #[test]
    fn parses_exactly_the_four_values() {
        for scheme in [
            Escaping::AllowUtf8,
            Escaping::Underscores,
            Escaping::Dots,
            Escaping::Values,
        ] {
            assert_eq!(Escaping::parse(scheme.as_str()), Some(scheme));
            assert_eq!(scheme.to_string(), scheme.as_str());
        }
        for value in ["", "Underscores", "utf-8", "allow-utf8", " dots"] {
            assert_eq!(Escaping::parse(value), None, "{value:?}");
        }
    }

    #[test]
    fn quotes_names() {
        let mut out = String::new();
        push_quoted(&mut out, "a.\"b\\");
        assert_eq!(out, "\"a.\\\"b\\\\\"");
    }
}
