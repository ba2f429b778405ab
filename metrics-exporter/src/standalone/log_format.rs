//! The binary's two log line formats, as Prometheus' exporters write them: logfmt
//! (`time=… level=info msg="…" key=value`) and JSON lines (`{"time":…,"level":…,"msg":…}`).

use std::fmt::{self, Write as _};
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::logs::LogFormat;

/// Writes each event as one line of `LogFormat`: logfmt
/// (`time=2026-12-02T05:40:00.123Z level=info msg="…" key=value module=…`) or one JSON object
/// (`time`, `level`, `msg`, the event's fields, `module`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineFormat(pub(crate) LogFormat);

/// A field's value: text, or a number or boolean (unquoted in JSON).
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Raw(String),
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Self::Text(text) | Self::Raw(text) => text,
        }
    }
}

/// An event's message and fields, in the order they were written.
#[derive(Debug, Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, Value)>,
}

impl Fields {
    fn of(event: &Event<'_>) -> Self {
        let mut fields = Self::default();
        event.record(&mut fields);
        fields
    }

    fn push(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = value.text().to_owned();
        } else {
            self.fields.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` fields arrive here too, their Debug being their Display.
        self.push(field, Value::Text(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::Text(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // NaN and infinities are not JSON numbers.
        let value = match value.is_finite() {
            true => Value::Raw(value.to_string()),
            false => Value::Text(value.to_string()),
        };
        self.push(field, value);
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Writes a logfmt value: bare when it can be, else quoted with `\"`, `\\`, `\n`, `\r`, `\t`
/// and `\u{…}` escapes (as go-logfmt: quoted when empty or holding a space, `=`, `"` or a
/// control character).
fn logfmt_value(out: &mut String, value: &str) {
    let bare = !value.is_empty()
        && !value
            .chars()
            .any(|c| c <= ' ' || c == '=' || c == '"' || c.is_control());
    if bare {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A logfmt key: field names are identifiers, but a space, `=` or `"` would break the line.
fn logfmt_key(out: &mut String, key: &str) {
    out.extend(key.chars().map(|c| match c {
        c if c <= ' ' || c == '=' || c == '"' || c.is_control() => '_',
        c => c,
    }));
}

fn logfmt_line(time: &str, level: &Level, module: &str, fields: &Fields) -> String {
    let mut line = format!("time={time} level={}", level_name(level));
    line.push_str(" msg=");
    logfmt_value(&mut line, &fields.message);
    for (key, value) in &fields.fields {
        line.push(' ');
        logfmt_key(&mut line, key);
        line.push('=');
        logfmt_value(&mut line, value.text());
    }
    line.push_str(" module=");
    logfmt_value(&mut line, module);
    line
}

/// The keys the JSON line writes itself: a field of the same name is written as `field_<name>`.
const JSON_KEYS: [&str; 4] = ["time", "level", "msg", "module"];

fn json_line(time: &str, level: &Level, module: &str, fields: &Fields) -> String {
    let string = |text: &str| serde_json::Value::from(text).to_string();
    let mut line = format!(
        "{{\"time\":{},\"level\":\"{}\",\"msg\":{}",
        string(time),
        level_name(level),
        string(&fields.message)
    );
    for (key, value) in &fields.fields {
        let key = match JSON_KEYS.contains(key) {
            true => format!("field_{key}"),
            false => (*key).to_owned(),
        };
        let value = match value {
            Value::Raw(raw) => raw.clone(),
            Value::Text(text) => string(text),
        };
        let _ = write!(line, ",{}:{value}", string(&key));
    }
    let _ = write!(line, ",\"module\":{}}}", string(module));
    line
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let line = match self.0 {
            LogFormat::Logfmt => logfmt_line,
            LogFormat::Json => json_line,
        };
        let line = line(&now(), meta.level(), meta.target(), &Fields::of(event));
        writeln!(writer, "{line}")
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    fn value(text: &str) -> String {
        let mut out = String::new();
        logfmt_value(&mut out, text);
        out
    }

    #[test]
    fn logfmt_values_are_quoted_and_escaped_only_when_needed() {
        assert_eq!(value("127.0.0.1:9464"), "127.0.0.1:9464");
        assert_eq!(value("/metrics"), "/metrics");
        assert_eq!(value(r"C:\dir"), r"C:\dir");
        assert_eq!(value(""), r#""""#);
        assert_eq!(value("two words"), r#""two words""#);
        assert_eq!(value("a=b"), r#""a=b""#);
        assert_eq!(value(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(value("line\nbreak\ttab\r"), r#""line\nbreak\ttab\r""#);
        assert_eq!(value("back\\slash and space"), r#""back\\slash and space""#);
        assert_eq!(value("bell\u{7}"), r#""bell\u{0007}""#);
        assert_eq!(value("héllo"), "héllo");
    }

    #[test]
    fn a_logfmt_line_has_time_level_msg_fields_and_module() {
        let fields = Fields {
            message: "probe failed".into(),
            fields: vec![
                ("target", Value::Text("api".into())),
                ("cause", Value::Text("connection refused".into())),
                ("status", Value::Raw("503".into())),
                ("odd key", Value::Text("x".into())),
            ],
        };
        assert_eq!(
            logfmt_line(
                "2026-12-02T05:40:00.123Z",
                &Level::WARN,
                "metrics_exporter::prober",
                &fields
            ),
            "time=2026-12-02T05:40:00.123Z level=warn msg=\"probe failed\" target=api \
             cause=\"connection refused\" status=503 odd_key=x module=metrics_exporter::prober"
        );
    }

    #[test]
    fn a_json_line_is_one_object_with_typed_fields() {
        let fields = Fields {
            message: "say \"hi\"\n".into(),
            fields: vec![
                ("address", Value::Text("127.0.0.1:1".into())),
                ("tls", Value::Raw("false".into())),
                ("count", Value::Raw("3".into())),
                ("level", Value::Text("shadowed".into())),
            ],
        };
        let line = json_line("2026-12-02T05:40:00.123Z", &Level::INFO, "m::n", &fields);
        assert!(!line.contains('\n'), "{line}");
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "time": "2026-12-02T05:40:00.123Z",
                "level": "info",
                "msg": "say \"hi\"\n",
                "address": "127.0.0.1:1",
                "tls": false,
                "count": 3,
                "field_level": "shadowed",
                "module": "m::n",
            })
        );
    }

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn events_through_the_subscriber_come_out_as_logfmt() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::INFO)
            .with_writer(move || writer.clone())
            .event_format(LineFormat(LogFormat::Logfmt))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let name = "api";
            tracing::debug!("not written at info");
            tracing::warn!(target = %name, cause = %"timed out", "probe failed");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let rest = lines[0].split_once(" level=").unwrap().1;
        assert_eq!(
            rest,
            "warn msg=\"probe failed\" target=api cause=\"timed out\" \
             module=metrics_exporter::standalone::log_format::tests"
        );
        let time = lines[0]
            .strip_prefix("time=")
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert_eq!(time.len(), "2026-12-02T05:40:00.123Z".len(), "{time}");
        assert!(time.ends_with('Z'), "{time}");
    }
}
