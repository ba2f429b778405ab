//! `promtool check metrics` on a scrape.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::binaries::require;

/// Lints Prometheus text 0.0.4 with `promtool check metrics`; panics, quoting promtool and the
/// text, unless it succeeds and reports nothing.
pub fn assert_lint_clean(text: &str) {
    let mut child = Command::new(require("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let output = child.wait_with_output().expect("promtool output");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool: {said}\n{text}");
    assert_eq!(said.trim(), "", "promtool reported lint problems\n{text}");
}
