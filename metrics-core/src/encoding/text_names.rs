//! Escaping (or quoting) the names in prometheus-client's text, which writes names as they were
//! registered: a user may register `my.requests`.
//!
//! Only the prometheus-client part of a scrape goes through here, and only when
//! [`needs_rewrite`] finds a name that is not legacy-valid: the fast families of this crate
//! never have one, and the usual registry (`build_info`, `process_*`) neither.
//!
//! The text is read as prometheus-client writes it: `# HELP|TYPE|UNIT name ...` and
//! `name{key="value",...} value...`. Names holding whitespace, `{`, `}`, `"`, `=` or `,` cannot
//! be told apart from the syntax around them and are not supported; exemplar label names are
//! written as they are.

use super::escaping::{is_legacy_name, push_escaped, push_quoted, Escaping};
use super::text004::closing_brace;

/// Whether any metric or label name in `text` is not legacy-valid.
///
/// It runs on every scrape over all of prometheus-client's text, so it reads each byte once,
/// checking names as it goes, without splitting lines or collecting labels. A line it cannot
/// read counts as needing the rewrite, which leaves such lines as they are.
pub(crate) fn needs_rewrite(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let Some(line_end) = scan_line(bytes, at) else {
            return true;
        };
        at = line_end + 1;
    }
    false
}

/// Checks the line starting at `at`; the index of its newline (or the end), or `None` when
/// it has a name that is not legacy-valid or cannot be read.
fn scan_line(bytes: &[u8], mut at: usize) -> Option<usize> {
    let rest = &bytes[at..];
    if rest.starts_with(b"# ") {
        if rest.starts_with(b"# HELP ")
            || rest.starts_with(b"# TYPE ")
            || rest.starts_with(b"# UNIT ")
        {
            let (end, stop) = legacy_name(bytes, at + 7)?;
            return if stop == b'\n' {
                Some(end)
            } else {
                skip_line(bytes, end)
            };
        }
        return skip_line(bytes, at);
    }
    let (end, stop) = legacy_name(bytes, at)?;
    if stop != b'{' {
        return if stop == b'\n' {
            Some(end)
        } else {
            skip_line(bytes, end)
        };
    }
    // Label pairs: `key="value"`, then `,` or `}`.
    at = end + 1;
    loop {
        if bytes.get(at) == Some(&b'}') {
            return skip_line(bytes, at);
        }
        let (key_end, stop) = legacy_name(bytes, at)?;
        if stop != b'=' || bytes.get(key_end + 1) != Some(&b'"') {
            return None;
        }
        // Skip the value, escapes included.
        at = key_end + 2;
        loop {
            let quote = at + bytes.get(at..)?.iter().position(|&b| b == b'"')?;
            let backslashes = bytes[at..quote]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            at = quote + 1;
            if backslashes % 2 == 0 {
                break;
            }
        }
        if bytes.get(at) == Some(&b',') {
            at += 1;
        }
    }
}

/// Reads a legacy-valid name from `at` up to a byte that cannot be in one: the index of that
/// byte and the byte (`\n` at the end of the text); `None` if the name is empty, starts with
/// a digit or stops at a byte that makes it invalid (neither space, `{`, `=` nor newline).
#[inline]
fn legacy_name(bytes: &[u8], at: usize) -> Option<(usize, u8)> {
    let mut index = at;
    while let Some(&byte) = bytes.get(index) {
        if byte.is_ascii_alphabetic()
            || byte == b'_'
            || byte == b':'
            || (index > at && byte.is_ascii_digit())
        {
            index += 1;
            continue;
        }
        return (index > at && matches!(byte, b' ' | b'{' | b'=' | b'\n')).then_some((index, byte));
    }
    (index > at).then_some((index, b'\n'))
}

/// The index of the newline ending the line that `at` is in (or the end of the text).
#[inline]
fn skip_line(bytes: &[u8], at: usize) -> Option<usize> {
    let rest = bytes.get(at..)?;
    Some(at + rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len()))
}

/// Appends `text` to `out` with the names that are not legacy-valid escaped with `scheme`, or
/// quoted when `scheme` is [`Escaping::AllowUtf8`].
///
/// Escaping is applied to the family name and the suffix kept, as Prometheus escapes the name
/// of a `MetricFamily` before its text encoder adds `_total` or `_bucket`: `my.requests` with
/// `dots` is written `my_dot_requests_total`, not `my_dot_requests__total`. So `text` must be
/// OpenMetrics, whose `# TYPE` names the family without its suffixes; quoting changes no name
/// and works on either text format.
pub(crate) fn rewrite(text: &str, scheme: Escaping, out: &mut String) {
    out.reserve(text.len() + text.len() / 8);
    let mut family: Option<&str> = None;
    for line in text.lines() {
        match parse(line) {
            Line::Metadata {
                keyword,
                name,
                rest,
            } => {
                if keyword == "TYPE" {
                    family = Some(name);
                }
                out.push_str("# ");
                out.push_str(keyword);
                out.push(' ');
                push_name(out, name, scheme);
                out.push_str(rest);
            }
            Line::Sample { name, labels, rest } => {
                push_sample(out, name, family, labels, rest, scheme);
            }
            Line::Other => out.push_str(line),
        }
        out.push('\n');
    }
}

fn push_name(out: &mut String, name: &str, scheme: Escaping) {
    if is_legacy_name(name) {
        out.push_str(name);
    } else if scheme == Escaping::AllowUtf8 {
        push_quoted(out, name);
    } else {
        push_escaped(out, name, scheme);
    }
}

fn push_sample(
    out: &mut String,
    name: &str,
    family: Option<&str>,
    labels: Labels<'_>,
    rest: &str,
    scheme: Escaping,
) {
    let quoted = scheme == Escaping::AllowUtf8 && !is_legacy_name(name);
    if quoted {
        // `{"my.requests_total",key="value"} 1`: the name is the first item of the label set.
        out.push('{');
        push_quoted(out, name);
    } else {
        match family.and_then(|f| Some((f, name.strip_prefix(f)?))) {
            Some((base, suffix)) if !is_legacy_name(base) => {
                push_escaped(out, base, scheme);
                out.push_str(suffix);
            }
            _ => push_name(out, name, scheme),
        }
    }
    let has_labels = !labels.is_empty();
    if has_labels && !quoted {
        out.push('{');
    }
    for (index, (key, value)) in labels.enumerate() {
        if quoted || index > 0 {
            out.push(',');
        }
        // `parse` checked that every key reads.
        push_name(out, key.unwrap_or_default(), scheme);
        out.push_str("=\"");
        out.push_str(value);
        out.push('"');
    }
    if quoted || has_labels {
        out.push('}');
    }
    out.push_str(rest);
}

enum Line<'a> {
    /// `# HELP|TYPE|UNIT name rest`; `rest` starts with its space (or is empty).
    Metadata {
        keyword: &'a str,
        name: &'a str,
        rest: &'a str,
    },
    /// `name{labels}rest`; `rest` from the space on.
    Sample {
        name: &'a str,
        labels: Labels<'a>,
        rest: &'a str,
    },
    /// Anything else (`# EOF`, empty, or a line that cannot be parsed): written as it is.
    Other,
}

fn parse(line: &str) -> Line<'_> {
    if let Some(comment) = line.strip_prefix("# ") {
        let (keyword, after) = comment.split_once(' ').unwrap_or((comment, ""));
        if !matches!(keyword, "HELP" | "TYPE" | "UNIT") || after.is_empty() {
            return Line::Other;
        }
        let name_end = after.find(' ').unwrap_or(after.len());
        return Line::Metadata {
            keyword,
            name: &after[..name_end],
            rest: &after[name_end..],
        };
    }
    if line.is_empty() || line.starts_with('#') {
        return Line::Other;
    }
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    let name = &line[..name_end];
    let after = &line[name_end..];
    let Some(inside) = after.strip_prefix('{') else {
        return Line::Sample {
            name,
            labels: Labels { inside: "" },
            rest: after,
        };
    };
    let Some(end) = closing_brace(inside) else {
        return Line::Other;
    };
    let labels = Labels {
        inside: &inside[..end],
    };
    if labels.clone().any(|(key, _)| key.is_none()) {
        return Line::Other;
    }
    Line::Sample {
        name,
        labels,
        rest: &inside[end + 1..],
    }
}

/// The `key="value"` pairs between the braces of a label set, values as written (escaped);
/// a pair that cannot be read yields a `None` key and ends the iteration.
#[derive(Clone)]
struct Labels<'a> {
    inside: &'a str,
}

impl<'a> Labels<'a> {
    fn is_empty(&self) -> bool {
        self.inside.is_empty()
    }
}

impl<'a> Iterator for Labels<'a> {
    type Item = (Option<&'a str>, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.inside.is_empty() {
            return None;
        }
        let parsed = self.inside.split_once("=\"").and_then(|(key, after)| {
            let end = closing_quote(after)?;
            Some((key, &after[..end], &after[end + 1..]))
        });
        let Some((key, value, rest)) = parsed else {
            self.inside = "";
            return Some((None, ""));
        };
        self.inside = rest.strip_prefix(',').unwrap_or(rest);
        Some((Some(key), value))
    }
}

/// Index of the `"` ending a quoted value that `s` starts inside of.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, byte) in s.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(index),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const OM: &str = "# HELP my.requests Requests.\n# TYPE my.requests counter\n\
                      my.requests_total{path=\"/a,\\\"b}\",my.key=\"v\"} 3\n\
                      my.requests_created 1.5\n\
                      # HELP ok Fine.\n# TYPE ok gauge\nok{a=\"1\"} 1\n# EOF\n";

    fn rewritten(text: &str, scheme: Escaping) -> String {
        let mut out = String::new();
        rewrite(text, scheme, &mut out);
        out
    }

    #[test]
    fn finds_names_that_need_escaping() {
        assert!(needs_rewrite(OM));
        assert!(!needs_rewrite(
            "# HELP ok Fine.\n# TYPE ok gauge\nok{a=\"my.value\"} 1\n# EOF\n"
        ));
        assert!(needs_rewrite("# TYPE ok gauge\nok{my.key=\"1\"} 1\n"));
        assert!(!needs_rewrite(""));
        // Quotes and backslashes inside values, exemplars, EOF.
        let legacy = "# HELP c Help with my.name inside.\n# TYPE c counter\n\
                      c_total{a=\"x\\\\\",b=\"q\\\"}\\\"\"} 1 # {trace.id=\"1\"} 1.0\n\
                      c_created 1.5\n# EOF\n";
        assert!(!needs_rewrite(legacy), "{legacy}");
        for name_after_value in [
            "# TYPE c counter\nc_total{a=\"x\\\\\",my.b=\"1\"} 1\n",
            "# TYPE c counter\nc_total{a=\"q\\\"\",my.b=\"1\"} 1\n",
            "# TYPE c counter\nc_total 1\nmy.c 2\n",
            "# UNIT my.c seconds\n",
            "# TYPE c counter\n1c 1\n",
        ] {
            assert!(needs_rewrite(name_after_value), "{name_after_value}");
        }
    }

    #[test]
    fn escapes_family_names_keeping_suffixes() {
        assert_eq!(
            rewritten(OM, Escaping::Dots),
            "# HELP my_dot_requests Requests.\n# TYPE my_dot_requests counter\n\
             my_dot_requests_total{path=\"/a,\\\"b}\",my_dot_key=\"v\"} 3\n\
             my_dot_requests_created 1.5\n\
             # HELP ok Fine.\n# TYPE ok gauge\nok{a=\"1\"} 1\n# EOF\n"
        );
        assert_eq!(
            rewritten(OM, Escaping::Underscores),
            "# HELP my_requests Requests.\n# TYPE my_requests counter\n\
             my_requests_total{path=\"/a,\\\"b}\",my_key=\"v\"} 3\n\
             my_requests_created 1.5\n\
             # HELP ok Fine.\n# TYPE ok gauge\nok{a=\"1\"} 1\n# EOF\n"
        );
        assert_eq!(
            rewritten(OM, Escaping::Values),
            "# HELP U__my_2e_requests Requests.\n# TYPE U__my_2e_requests counter\n\
             U__my_2e_requests_total{path=\"/a,\\\"b}\",U__my_2e_key=\"v\"} 3\n\
             U__my_2e_requests_created 1.5\n\
             # HELP ok Fine.\n# TYPE ok gauge\nok{a=\"1\"} 1\n# EOF\n"
        );
    }

    #[test]
    fn quotes_names_for_utf8_scrapers() {
        assert_eq!(
            rewritten(OM, Escaping::AllowUtf8),
            "# HELP \"my.requests\" Requests.\n# TYPE \"my.requests\" counter\n\
             {\"my.requests_total\",path=\"/a,\\\"b}\",\"my.key\"=\"v\"} 3\n\
             {\"my.requests_created\"} 1.5\n\
             # HELP ok Fine.\n# TYPE ok gauge\nok{a=\"1\"} 1\n# EOF\n"
        );
        assert_eq!(
            rewritten("# TYPE g gauge\ng{my.key=\"1\"} 1\n", Escaping::AllowUtf8),
            "# TYPE g gauge\ng{\"my.key\"=\"1\"} 1\n"
        );
    }

    #[test]
    fn unparsable_lines_are_kept() {
        let text = "# TYPE x gauge\nx{broken 1\n# random comment\n";
        assert_eq!(rewritten(text, Escaping::Underscores), text);
    }
}
