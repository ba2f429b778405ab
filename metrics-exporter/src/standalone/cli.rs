//! The binary's command line (clap): one flag per setting, each with its environment
//! variables and default in `--help`. Values stay strings here: [`Settings`] validates them,
//! so an error names the flag or variable that supplied the value.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::flags::{Security, FLAGS};
use super::logs::LogFormat;
use super::settings::{logs_or_defaults, process_env};
use super::{Settings, SettingsError};

/// The parsed command line of the `metrics-exporter` binary.
///
/// ```
/// use metrics_exporter::standalone::CommandLine;
///
/// let line = CommandLine::parse_from(["metrics-exporter", "--probe.interval=5s"]).unwrap();
/// assert_eq!(line.flag("probe.interval").as_deref(), Some("5s"));
///
/// let unknown = CommandLine::parse_from(["metrics-exporter", "--verbose"]).unwrap_err();
/// assert_eq!(unknown.exit_code(), 2);
/// let help = CommandLine::parse_from(["metrics-exporter", "--help"]).unwrap_err();
/// assert_eq!(help.exit_code(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct CommandLine {
    matches: ArgMatches,
}

impl CommandLine {
    /// The command: its flags, `--help`/`-h` and `--version`/`-V`.
    pub fn command() -> Command {
        let command = Command::new("metrics-exporter")
            .version(env!("CARGO_PKG_VERSION"))
            .about(
                "Probes HTTP targets and serves their probe_* metrics, process and system \
                 metrics, /health, /live and /ready.",
            )
            .after_help(
                "A flag wins over its METRICS_EXPORTER_ variable, which wins over the variable \
                 of earlier versions (legacy env), which wins over the default.",
            )
            .next_line_help(true);
        FLAGS.iter().fold(command, |command, flag| {
            let help = match flag.legacy {
                Some(legacy) if legacy != flag.variable => {
                    format!("{} [legacy env: {legacy}]", flag.help)
                }
                _ => flag.help.to_owned(),
            };
            let mut arg = Arg::new(flag.name)
                .long(flag.name)
                .value_name(flag.value_name)
                .help(help)
                .action(ArgAction::Set)
                .num_args(1)
                .allow_hyphen_values(false)
                .env(flag.variable)
                .hide_env_values(flag.security == Security::Secret);
            if let Some(default) = flag.default {
                arg = arg.default_value(default);
            }
            command.arg(arg)
        })
    }

    /// Parses `args` (the program name first). `--help`, `--version`, an unknown flag or a
    /// flag without its value are an [`clap::Error`]: print it and exit with its
    /// [`exit_code`](clap::Error::exit_code) (0 for help and version, 2 otherwise).
    pub fn parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Self::command()
            .try_get_matches_from(args)
            .map(|matches| Self { matches })
    }

    /// The value given on the command line for flag `name` (without `--`); `None` when the
    /// flag was not given (clap's own environment and default values are not used: the
    /// settings read the variables themselves, in their order of precedence).
    pub fn flag(&self, name: &str) -> Option<String> {
        if self.matches.value_source(name) != Some(ValueSource::CommandLine) {
            return None;
        }
        self.matches
            .try_get_one::<String>(name)
            .ok()
            .flatten()
            .cloned()
    }

    /// The settings from these flags and the process environment.
    pub fn settings(&self) -> Result<Settings, SettingsError> {
        Settings::from_flags_and_lookup(|name| self.flag(name), process_env)
    }

    /// `--log.level` and `--log.format` (or their variables), each its default when unset or
    /// invalid: how to log before [`settings`](Self::settings) succeeded.
    pub fn logs(&self) -> (tracing::Level, LogFormat) {
        logs_or_defaults(|name| self.flag(name), process_env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_well_formed() {
        CommandLine::command().debug_assert();
    }

    #[test]
    fn only_flags_given_on_the_command_line_count() {
        let line = CommandLine::parse_from([
            "metrics-exporter",
            "--web.listen-address",
            "127.0.0.1:1",
            "--log.format=json",
        ])
        .unwrap();
        assert_eq!(
            line.flag("web.listen-address").as_deref(),
            Some("127.0.0.1:1")
        );
        assert_eq!(line.flag("log.format").as_deref(), Some("json"));
        // Its default is not a flag given.
        assert_eq!(line.flag("log.level"), None);
        assert_eq!(line.flag("probe.targets"), None);
    }

    #[test]
    fn a_flag_without_its_value_is_a_usage_error() {
        let error = CommandLine::parse_from(["metrics-exporter", "--probe.timeout"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("--probe.timeout"), "{error}");
    }
}
