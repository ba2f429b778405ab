//! `# HELP` text, escaped as each format requires: a newline or backslash in a help string
//! would otherwise end the comment early or be read as an escape, and the scrape fails.
//! OpenMetrics escapes backslash, line feed and double quote; text 0.0.4 only the first two.

use super::Format;

/// Appends `help` to `out`, escaped for `format`.
pub(crate) fn push_help(out: &mut String, help: &str, format: Format) {
    let quotes = format == Format::OpenMetrics;
    // Help strings are almost always plain: copy them whole.
    if !help
        .bytes()
        .any(|b| b == b'\\' || b == b'\n' || (quotes && b == b'"'))
    {
        out.push_str(help);
        return;
    }
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Help text as prometheus-client's registry should hold it: escaped for OpenMetrics, and
/// without a final period, which the registry appends to every help string.
pub(crate) fn registry_help(help: &str) -> String {
    let help = help.strip_suffix('.').unwrap_or(help);
    let mut escaped = String::with_capacity(help.len());
    push_help(&mut escaped, help, Format::OpenMetrics);
    escaped
}

/// Appends OpenMetrics `# HELP` text as text 0.0.4's: the same, but a double quote is not
/// escaped there.
pub(crate) fn push_openmetrics_help_as_text(out: &mut String, help: &str) {
    let mut rest = help;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at..];
        if let Some(after) = escape.strip_prefix("\\\"") {
            out.push('"');
            rest = after;
        } else {
            // `\\` and `\n` stay as they are; a lone backslash is copied as it came.
            let len = if escape.len() > 1 { 2 } else { 1 };
            let len = if escape.is_char_boundary(len) { len } else { 1 };
            out.push_str(&escape[..len]);
            rest = &escape[len..];
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_escapes_what_it_must() {
        let help = "Line one\nC:\\dir \"quoted\"";
        let mut om = String::new();
        push_help(&mut om, help, Format::OpenMetrics);
        assert_eq!(om, r#"Line one\nC:\\dir \"quoted\""#);
        let mut text = String::new();
        push_help(&mut text, help, Format::PrometheusText);
        assert_eq!(text, r#"Line one\nC:\\dir "quoted""#);
        let mut converted = String::new();
        push_openmetrics_help_as_text(&mut converted, &om);
        assert_eq!(converted, text);
    }

    #[test]
    fn registry_help_drops_the_period_the_registry_adds() {
        assert_eq!(registry_help("Jobs run."), "Jobs run");
        assert_eq!(registry_help("Jobs run"), "Jobs run");
        assert_eq!(registry_help("a\\b"), "a\\\\b");
    }

    #[test]
    fn a_trailing_backslash_and_multibyte_text_survive_conversion() {
        for help in ["ends in \\", "é\\é", "\\\\\\"] {
            let mut out = String::new();
            push_openmetrics_help_as_text(&mut out, help);
            assert_eq!(out, help);
        }
    }
}
