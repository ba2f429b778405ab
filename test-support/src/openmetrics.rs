//! A strict OpenMetrics parse of a scrape: the Python `prometheus_client` package's parser,
//! which rejects what the specification does not allow (an exemplar in the wrong place, a
//! sample out of its family, a missing `# EOF`).

use std::io::Write;
use std::process::{Command, Stdio};

/// Panics, with the parser's message, unless `text` parses as OpenMetrics 1.0.
pub fn assert_strict_parse(text: &str) {
    let script = "import sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n\
        families = list(parse(sys.stdin.read()))\n\
        print(len(families))\n";
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the scrape");
    let output = child.wait_with_output().expect("python3 ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'prometheus_client'"),
        "the strict OpenMetrics parser is not installed: run `bash scripts/install-test-deps.sh` (PyPI prometheus-client)"
    );
    assert!(
        output.status.success(),
        "strict OpenMetrics parse failed: {stderr}\n{text}"
    );
}
