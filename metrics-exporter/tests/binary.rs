//! The `metrics-exporter` binary: configured by flags and environment variables, it probes,
//! serves probe, process and system metrics and health, logs to stderr, exits 0 on SIGTERM,
//! and refuses invalid configuration with a message naming the flag or variable.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use test_support::binaries::free_port;
use test_support::Scrape;

const BINARY: &str = env!("CARGO_BIN_EXE_metrics-exporter");

/// Kills the child if the test ends before it exited.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn run_with(vars: &[(&str, &str)]) -> Output {
    run_args(&[], vars)
}

#[test]
fn invalid_configuration_exits_non_zero_naming_the_variable_and_the_form() {
    let cases = [
        ("METRICS_ADDR", "nowhere", "IP:PORT"),
        ("TARGETS", "api=", "name=URL"),
        ("TARGETS", "ftp://example.invalid/", "http or https"),
        ("PROBE_INTERVAL", "sometimes", "six-field cron expression"),
        ("PROBE_TIMEOUT", "-1s", "duration"),
        ("PROBE_CONCURRENCY", "many", "whole number"),
        ("TARGETS_FILE", "/nonexistent/targets.toml", "cannot read"),
        (
            "WEB_CONFIG_FILE",
            "/nonexistent/web-config.yml",
            "cannot read",
        ),
        ("METRICS_ALLOW", "everyone", "CIDR"),
        ("MAX_CONCURRENT_SCRAPES", "0", "whole number"),
        ("SHUTDOWN_TIMEOUT", "soon", "duration"),
        ("MAX_CONNECTIONS", "0", "whole number"),
        ("FIRST_REQUEST_TIMEOUT", "-1s", "duration"),
        ("IDLE_TIMEOUT", "never", "duration"),
    ];
    for (variable, value, form) in cases {
        let output = run_with(&[(variable, value)]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{variable}={value:?} was accepted"
        );
        assert_eq!(output.status.code(), Some(2), "{variable}: {stderr}");
        assert!(stderr.contains(variable), "{variable}={value:?}: {stderr}");
        assert!(stderr.contains(form), "{variable}={value:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_serves_metrics_and_health_and_stops_on_sigterm() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let target = format!("http://{}/", listener.local_addr().expect("addr"));
    let upstream = tokio::spawn(async move {
        let app = Router::new().route("/", get(|| async { "up" }));
        let _ = axum::serve(listener, app).await;
    });

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("targets.toml");
    std::fs::write(
        &file,
        format!("[[target]]\nname = \"from-file\"\nurl = \"{target}\"\nexpected_status = 404\n"),
    )
    .expect("write targets file");
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BINARY)
        .env("METRICS_ADDR", &addr)
        .env("TARGETS", format!("upstream={target},http://gone.invalid/"))
        .env("TARGETS_FILE", &file)
        .env("PROBE_INTERVAL", "500ms")
        .env("PROBE_TIMEOUT", "2s")
        .env("PROBE_CONCURRENCY", "2")
        .env("SYSTEM_METRICS_INTERVAL", "1s")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let mut running = Running(Some(child));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");

    let deadline = Instant::now() + Duration::from_secs(30);
    let scrape = loop {
        let text = match client.get(format!("http://{addr}/metrics")).send().await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let scrape = Scrape::parse(&text);
        let ready = scrape.get("probe_success", &[("target", "upstream")]) == Some(1.0)
            && scrape.count("system_cpu_utilization_ratio", &[]) > 0
            && scrape.count("probe_success", &[("target", "from-file")]) == 1;
        if ready {
            break scrape;
        }
        assert!(
            Instant::now() < deadline,
            "no probe results in time:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        scrape.get("probe_success", &[("target", "http://gone.invalid/")]),
        Some(0.0)
    );
    assert_eq!(
        scrape.get("probe_success", &[("target", "from-file")]),
        Some(0.0),
        "expects 404"
    );
    assert!(scrape.get("process_resident_memory_bytes", &[]).is_some());
    assert!(scrape.count("system_memory_usage_bytes", &[]) > 0);
    for path in ["/health", "/live", "/ready"] {
        let status = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("request")
            .status();
        assert_eq!(status, 200, "{path}");
    }

    let child = running.0.as_mut().expect("running");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}");
    running.0 = None;
    upstream.abort();
}

#[test]
fn an_invalid_web_config_file_flag_exits_2_naming_the_flag_and_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("web-config.yml");
    std::fs::write(
        &file,
        "basic_auth_users:\n  prometheus: plaintext-password\n",
    )
    .expect("write");
    let output = Command::new(BINARY)
        .env_clear()
        .arg(format!("--web.config.file={}", file.display()))
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--web.config.file"), "{stderr}");
    assert!(stderr.contains("basic_auth_users"), "{stderr}");
    // Never echo what might be a password.
    assert!(!stderr.contains("plaintext-password"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_by_web_config_flag_and_bearer_token_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hash = bcrypt::hash("pw", 4).expect("hash");
    let web = dir.path().join("web-config.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: {hash}\n")).expect("write");
    let token = dir.path().join("token");
    std::fs::write(&token, "bin-token\n").expect("write");
    let web = web.display().to_string();
    let token = token.display().to_string();
    let (_running, addr) = start_serving(
        &["--web.config.file", &web],
        &[
            ("METRICS_BEARER_TOKEN_FILE", &token),
            ("METRICS_ALLOW", "127.0.0.0/8,::1"),
        ],
    )
    .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let url = format!("http://{addr}/metrics");
    let status = client.get(&url).send().await.expect("request").status();
    assert_eq!(status, 401);
    let bearer = client
        .get(&url)
        .bearer_auth("bin-token")
        .send()
        .await
        .expect("request");
    assert_eq!(bearer.status(), 200);
    let basic = client
        .get(&url)
        .basic_auth("prometheus", Some("pw"))
        .send()
        .await
        .expect("request");
    assert_eq!(basic.status(), 200);
    let body = basic.text().await.expect("body");
    assert!(!body.contains("bin-token") && !body.contains(&hash));
    let live = client
        .get(format!("http://{addr}/live"))
        .send()
        .await
        .expect("request");
    assert_eq!(live.status(), 200);
}

/// Runs the binary with `vars` on a free loopback port; `None` (and killed) if it is still
/// running after `limit`, as a binary that accepted its configuration would be.
fn run_bounded(vars: &[(&str, &str)], limit: Duration) -> Option<Output> {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("METRICS_ADDR", &addr);
    for (name, value) in vars {
        command.env(name, value);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let mut running = Running(Some(child));
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if running
            .0
            .as_mut()
            .and_then(|child| child.try_wait().ok().flatten())
            .is_some()
        {
            return running
                .0
                .take()
                .and_then(|child| child.wait_with_output().ok());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_blank_security_variable_exits_2_naming_it() {
    for variable in [
        "METRICS_BEARER_TOKEN",
        "METRICS_BEARER_TOKEN_FILE",
        "METRICS_ALLOW",
        "METRICS_TRUSTED_PROXIES",
        "METRICS_OPEN_PROBES",
        "METRICS_PUBLIC_HEALTH",
        "WEB_CONFIG_FILE",
    ] {
        for blank in ["", "  ", "\t\n"] {
            let output = run_bounded(&[(variable, blank)], Duration::from_secs(10));
            let output = output.unwrap_or_else(|| {
                panic!("{variable}={blank:?} was accepted: the binary kept running")
            });
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{variable}={blank:?}: {stderr}"
            );
            assert!(stderr.contains(variable), "{variable}={blank:?}: {stderr}");
            assert!(stderr.contains("blank"), "{variable}={blank:?}: {stderr}");
        }
    }
    // Other variables still count as unset when blank.
    let output = run_bounded(
        &[("METRICS_BEARER_TOKEN", "t0ken"), ("TARGETS", " ")],
        Duration::from_secs(2),
    );
    assert!(output.is_none(), "{output:?}");
}

/// Starts the binary on a free port with `args` and `vars`; waits until `/live` answers.
async fn start_serving(args: &[&str], vars: &[(&str, &str)]) -> (Running, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut command = Command::new(BINARY);
    command.args(args).env("METRICS_ADDR", &addr);
    for (name, value) in vars {
        command.env(name, value);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary");
    let running = Running(Some(child));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = client.get(format!("http://{addr}/live")).send().await {
            if response.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the binary did not listen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (running, addr)
}

/// A connection that pipelines thousands of scrapes and never reads an answer, so the server's
/// writes block; the task writing them runs until aborted.
async fn never_reading_pipeliner(addr: &str) -> tokio::task::JoinHandle<()> {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    // A small receive window fills after a few answers.
    socket.set_recv_buffer_size(4096).expect("buffer size");
    let mut stream = socket
        .connect(addr.parse().expect("address"))
        .await
        .expect("connect");
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let requests = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(10_000);
        let _ = stream.write_all(requests.as_bytes()).await;
        // Keep the connection open without reading.
        std::future::pending::<()>().await;
    });
    // Let the server answer until its writes block.
    tokio::time::sleep(Duration::from_secs(1)).await;
    writer
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

/// Waits up to `within` for the child to exit.
async fn exit_within(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_holds_shutdown_no_longer_than_the_drain_deadline() {
    let (mut running, addr) = start_serving(&[], &[("SHUTDOWN_TIMEOUT", "1s")]).await;
    let writer = never_reading_pipeliner(&addr).await;
    let child = running.0.as_mut().expect("running");
    signal(child, "-TERM");
    let status = exit_within(child, Duration::from_secs(15)).await;
    writer.abort();
    let status = status.expect("still running 15 s after SIGTERM with SHUTDOWN_TIMEOUT=1s");
    assert!(status.success(), "exit status {status:?}");
    running.0 = None;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let (mut running, addr) = start_serving(&[], &[("SHUTDOWN_TIMEOUT", "10m")]).await;
    let writer = never_reading_pipeliner(&addr).await;
    let child = running.0.as_mut().expect("running");
    signal(child, "-TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        child.try_wait().expect("wait").is_none(),
        "exited before the drain deadline"
    );
    signal(child, "-INT");
    let status = exit_within(child, Duration::from_secs(5)).await;
    writer.abort();
    let status = status.expect("still running 5 s after SIGTERM then SIGINT");
    assert_eq!(status.code(), Some(1), "exit status {status:?}");
    running.0 = None;
}

fn run_args(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(args);
    for (name, value) in vars {
        command.env(name, value);
    }
    command
        .stdin(Stdio::null())
        .output()
        .expect("run the binary")
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    for flag in ["--help", "-h"] {
        let output = run_args(&[flag], &[]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{flag}");
        assert!(output.stderr.is_empty(), "{flag}");
        assert!(stdout.starts_with("Probes HTTP targets"), "{stdout}");
        assert!(
            stdout.contains("Usage: metrics-exporter [OPTIONS]"),
            "{stdout}"
        );
        assert!(
            stdout.contains("      --web.listen-address <IP:PORT>"),
            "{stdout}"
        );
        assert!(stdout.contains("[legacy env: METRICS_ADDR] [env: METRICS_EXPORTER_WEB_LISTEN_ADDRESS=] [default: 0.0.0.0:9464]"), "{stdout}");
    }
    for flag in ["--version", "-V"] {
        let output = run_args(&[flag], &[]);
        assert_eq!(output.status.code(), Some(0), "{flag}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("metrics-exporter {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn help_shows_no_secret_from_the_environment() {
    let output = run_args(
        &["--help"],
        &[
            ("METRICS_EXPORTER_WEB_BEARER_TOKEN", "s3cret-new"),
            ("METRICS_BEARER_TOKEN", "s3cret-old"),
            ("METRICS_EXPORTER_PROBE_TIMEOUT", "7s"),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    assert!(!stdout.contains("s3cret"), "{stdout}");
    assert!(
        stdout.contains("[env: METRICS_EXPORTER_WEB_BEARER_TOKEN]"),
        "{stdout}"
    );
    // Other values are shown, as clap shows them.
    assert!(
        stdout.contains("[env: METRICS_EXPORTER_PROBE_TIMEOUT=7s]"),
        "{stdout}"
    );
}

/// A setting as `--help` and the README table list it: flag, variables, default, meaning.
type Listed = (String, Vec<String>, Option<String>, String);

fn listed_in_help(help: &str) -> BTreeSet<Listed> {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    let mut in_block = false;
    for line in help.lines() {
        if line.starts_with("  -") || line.starts_with("      --") {
            blocks.push(vec![line.trim()]);
            in_block = true;
        } else if in_block && line.starts_with("          ") {
            if let Some(block) = blocks.last_mut() {
                block.push(line.trim());
            }
        } else {
            in_block = false;
        }
    }
    let between = |text: &str, start: &str, end: char| -> Option<String> {
        let from = text.find(start)? + start.len();
        let len = text[from..].find(end)?;
        Some(text[from..from + len].to_owned())
    };
    blocks
        .iter()
        .filter_map(|block| {
            let head = block[0];
            let text = block[1..].join(" ");
            let flag = between(&format!("{head} "), "--", ' ').expect("a long flag");
            if flag == "help" || flag == "version" {
                return None;
            }
            let mut variables = vec![between(&text, "[env: ", '=')
                .or_else(|| between(&text, "[env: ", ']'))
                .unwrap_or_else(|| panic!("--{flag} has no variable: {text}"))];
            variables.extend(between(&text, "[legacy env: ", ']'));
            // The meaning is what precedes the bracketed variables and default.
            let meaning = [" [legacy env: ", " [env: ", " [default: "]
                .iter()
                .filter_map(|start| text.find(start))
                .min()
                .map_or(text.as_str(), |end| &text[..end]);
            Some((
                format!("--{flag}"),
                variables,
                between(&text, "[default: ", ']'),
                meaning.trim().to_owned(),
            ))
        })
        .collect()
}

fn listed_in_readme(readme: &str) -> BTreeSet<Listed> {
    let start = readme.find("<!-- flags: start -->").expect("table start");
    let end = readme.find("<!-- flags: end -->").expect("table end");
    readme[start..end]
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 4, "{line}");
            let code = |cell: &str| cell.trim_matches('`').to_owned();
            let variables = cells[1].split(", ").map(code).collect();
            let default = (cells[2] != "none").then(|| code(cells[2]));
            // The README marks names up as code; --help prints them plain.
            let meaning = cells[3].replace('`', "");
            (code(cells[0]), variables, default, meaning)
        })
        .collect()
}

#[test]
fn help_and_the_readme_table_list_the_same_flags_variables_defaults_and_meanings() {
    let output = run_args(&["--help"], &[]);
    assert_eq!(output.status.code(), Some(0));
    let help = listed_in_help(&String::from_utf8_lossy(&output.stdout));
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let table = listed_in_readme(&readme);
    assert_eq!(help.len(), 26, "{help:#?}");
    let only_help: Vec<_> = help.difference(&table).collect();
    let only_readme: Vec<_> = table.difference(&help).collect();
    assert!(
        only_help.is_empty() && only_readme.is_empty(),
        "in --help only: {only_help:#?}\nin the README only: {only_readme:#?}"
    );
    let expected: Listed = (
        "--probe.interval".into(),
        vec![
            "METRICS_EXPORTER_PROBE_INTERVAL".into(),
            "PROBE_INTERVAL".into(),
        ],
        Some("30s".into()),
        "Time between probes (a duration) or a cron expression, for every target".into(),
    );
    assert!(help.contains(&expected), "{help:#?}");
}

#[test]
fn invalid_flags_exit_2_naming_the_flag_and_the_form() {
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &["--probe.timeout=soon"],
            &["--probe.timeout", "duration such as 10s"],
        ),
        (
            &["--web.listen-address", "nowhere"],
            &["--web.listen-address", "IP:PORT"],
        ),
        (
            &["--probe.interval=every day"],
            &["--probe.interval", "cron expression"],
        ),
        (
            &["--log.level=loud"],
            &["--log.level", "debug, info, warn or error"],
        ),
        (&["--verbose"], &["unexpected argument '--verbose'"]),
        (
            &["--probe.timeout"],
            &["--probe.timeout <DURATION>", "value is required"],
        ),
    ];
    for (args, expected) in cases {
        let output = run_args(args, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        for text in expected {
            assert!(stderr.contains(text), "{args:?}: {text:?} not in {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // The error names the source of the value: here the prefixed variable, not the old one.
    let output = run_args(
        &[],
        &[
            ("METRICS_EXPORTER_PROBE_TIMEOUT", "soon"),
            ("PROBE_TIMEOUT", "1s"),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("level=error msg=\"invalid configuration: METRICS_EXPORTER_PROBE_TIMEOUT: \\\"soon\\\" is not valid"), "{stderr}");
}

/// The binary with its stderr read line by line as it writes; killed when dropped.
struct Logged {
    running: Running,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Logged {
    fn start(args: &[&str], vars: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BINARY);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args(args);
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("lines").push(line);
            }
        });
        Self {
            running: Running(Some(child)),
            lines,
            reader: Some(reader),
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// Waits (20 s at most) for a line containing `text`.
    fn line_with(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self.lines().into_iter().find(|line| line.contains(text)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no line with {text:?}: {:#?}",
                self.lines()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit status and every line written.
    fn stop(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let mut child = self.running.0.take().expect("running");
        signal(&child, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                break child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status, self.lines())
    }
}

/// The value of logfmt key `key` in `line` (unquoted values only).
fn logfmt_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

async fn status_of(url: &str) -> u16 {
    reqwest::get(url)
        .await
        .map(|response| response.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_beats_its_variables_where_it_listens() {
    // Invalid values in the variables: had they been read, the binary would exit 2.
    let logged = Logged::start(
        &["--web.listen-address=127.0.0.1:0"],
        &[
            ("METRICS_EXPORTER_WEB_LISTEN_ADDRESS", "nowhere"),
            ("METRICS_ADDR", "nowhere either"),
        ],
    );
    let line = logged.line_with("msg=listening");
    let addr = logfmt_field(&line, "address").expect("address").to_owned();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{line}"
    );
    assert_eq!(status_of(&format!("http://{addr}/live")).await, 200);
    let (status, _) = logged.stop();
    assert!(status.success(), "{status:?}");

    // The prefixed variable beats the earlier one.
    let logged = Logged::start(
        &[],
        &[
            ("METRICS_EXPORTER_WEB_LISTEN_ADDRESS", "127.0.0.1:0"),
            ("METRICS_ADDR", "nowhere"),
        ],
    );
    let line = logged.line_with("msg=listening");
    let addr = logfmt_field(&line, "address").expect("address").to_owned();
    assert_eq!(status_of(&format!("http://{addr}/live")).await, 200);
    let (status, _) = logged.stop();
    assert!(status.success(), "{status:?}");
}

async fn upstream() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let app = Router::new().route("/", get(|| async { "up" }));
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_start_lines_parse_with_the_listen_address_and_no_credentials() {
    let (url, upstream) = upstream().await;
    let with_credentials = url.replace("http://", "http://user:pa55word@");
    let targets = format!("--probe.targets=api={with_credentials}");
    let logged = Logged::start(
        &[
            "--log.format=json",
            "--web.listen-address=127.0.0.1:0",
            &targets,
        ],
        &[],
    );
    logged.line_with("\"msg\":\"protection\"");
    let parsed: Vec<serde_json::Value> = logged
        .lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let listening = parsed
        .iter()
        .find(|line| line["msg"] == "listening")
        .expect("a listening line");
    assert_eq!(listening["level"], "info");
    assert_eq!(listening["scheme"], "http");
    assert_eq!(listening["telemetry_path"], "/metrics");
    let addr = listening["address"].as_str().expect("address").to_owned();
    assert_eq!(status_of(&format!("http://{addr}/live")).await, 200);
    let target = parsed
        .iter()
        .find(|line| line["msg"] == "probing target")
        .expect("a target line");
    assert_eq!(target["target"], "api");
    let schedule = target["schedule"].as_str().expect("schedule");
    assert!(schedule.contains("30s"), "{schedule}");
    assert_eq!(target["timeout"], "10s");
    let protection = parsed
        .iter()
        .find(|line| line["msg"] == "protection")
        .expect("a protection line");
    assert_eq!(protection["tls"], false);
    assert_eq!(protection["bearer_token"], false);
    let (status, lines) = logged.stop();
    assert!(status.success(), "{status:?}");
    let all = lines.join("\n");
    assert!(!all.contains("pa55word"), "{all}");
    for line in &lines {
        let line: serde_json::Value = serde_json::from_str(line).expect("JSON");
        assert!(
            line["time"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{line}"
        );
    }
    upstream.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logfmt_by_default_and_quiet_while_all_is_well() {
    let (url, upstream) = upstream().await;
    let targets = format!("--probe.targets=up={url}");
    let logged = Logged::start(
        &[
            "--web.listen-address=127.0.0.1:0",
            "--web.telemetry-path=/probe-metrics",
            "--probe.interval=200ms",
            &targets,
        ],
        &[],
    );
    let line = logged.line_with("msg=listening");
    assert!(
        line.starts_with("time=") && line.contains(" level=info msg=listening "),
        "{line}"
    );
    assert_eq!(
        logfmt_field(&line, "telemetry_path"),
        Some("/probe-metrics")
    );
    let addr = logfmt_field(&line, "address").expect("address").to_owned();
    logged.line_with("msg=protection");
    // A few scrapes, at the configured path only, while the target is probed.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = reqwest::get(format!("http://{addr}/probe-metrics"))
            .await
            .expect("scrape")
            .text()
            .await
            .expect("body");
        if Scrape::parse(&text).get("probe_success", &[("target", "up")]) == Some(1.0) {
            break;
        }
        assert!(Instant::now() < deadline, "no probe result:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..3 {
        assert_eq!(
            status_of(&format!("http://{addr}/probe-metrics")).await,
            200
        );
        assert_eq!(status_of(&format!("http://{addr}/ready")).await, 200);
    }
    assert_eq!(status_of(&format!("http://{addr}/metrics")).await, 404);
    let (status, lines) = logged.stop();
    assert!(status.success(), "{status:?}");
    let messages: Vec<&str> = lines
        .iter()
        .map(|line| {
            assert!(
                line.starts_with("time=") && line.contains(" level=") && line.contains(" msg="),
                "{line}"
            );
            line.split(" msg=")
                .nth(1)
                .and_then(|rest| match rest.strip_prefix('"') {
                    Some(quoted) => quoted.split('"').next(),
                    None => rest.split(' ').next(),
                })
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        messages,
        [
            "listening",
            "probing target",
            "protection",
            "shutting down: /ready answers 503, then the listener closes and requests drain",
            "drained: stopped",
        ],
        "{lines:#?}"
    );
    assert!(lines[3].contains("signal=SIGTERM"), "{}", lines[3]);
    upstream.abort();
}
