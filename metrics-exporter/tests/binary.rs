//! The `metrics-exporter` binary: configured by environment variables, it probes, serves
//! probe, process and system metrics and health, exits 0 on SIGTERM, and refuses invalid
//! configuration with a message naming the variable.

use std::process::{Child, Command, Output, Stdio};
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
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (name, value) in vars {
        command.env(name, value);
    }
    command
        .stdin(Stdio::null())
        .output()
        .expect("run the binary")
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
