//! Optional defaults from a TOML file: `$CLUSTERCA_CONFIG`, else `/etc/clusterca/config.toml`
//! when it exists. A value there replaces the built-in default of the options it names; an
//! environment variable (`CLUSTERCA_DIR`) and a flag on the command line still win, in that
//! order. `clusterca config` shows the values in effect and where each came from.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::Failure;

/// Where the file is looked for when `CLUSTERCA_CONFIG` is not set.
pub const DEFAULT_PATH: &str = "/etc/clusterca/config.toml";

/// A config file is a few lines; anything larger is not one.
const MAX_CONFIG: u64 = 64 * 1024;

/// The keys a config file may hold (any other is refused, naming it).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `--dir` of every command that has one.
    pub dir: Option<String>,
    /// `--ttl` of `issue`, `sign` and `submit` (a leaf's lifetime).
    pub ttl: Option<String>,
    /// `--key-type` of `issue`.
    pub key_type: Option<String>,
    /// `--owner` of `install`, `bundle` and `push`.
    pub owner: Option<String>,
    /// `--group` of `install`, `bundle` and `push`.
    pub group: Option<String>,
    /// `--hosts-file` of `push`.
    pub hosts_file: Option<String>,
}

/// Each key: the option it sets and the commands whose option it is.
const KEYS: &[(&str, &str, &[&str])] = &[
    (
        "dir",
        "dir",
        &[
            "init", "import", "issue", "show", "list", "submit", "sign", "renew", "revoke",
            "clean", "crl", "check", "verify", "install", "bundle", "push", "serve",
        ],
    ),
    ("ttl", "ttl", &["issue", "sign", "submit"]),
    ("key_type", "key_type", &["issue"]),
    ("owner", "owner", &["install", "bundle", "push"]),
    ("group", "group", &["install", "bundle", "push"]),
    ("hosts_file", "hosts_file", &["push"]),
];

/// The built-in defaults, for `clusterca config`.
const BUILT_IN: &[(&str, Option<&str>)] = &[
    ("dir", Some("ca")),
    ("ttl", Some("5y")),
    ("key_type", Some("ec-p256")),
    ("owner", None),
    ("group", None),
    ("hosts_file", None),
];

/// The file read, if any, and what it holds.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub path: Option<PathBuf>,
    pub config: Config,
}

static LOADED: OnceLock<Loaded> = OnceLock::new();

impl Config {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "dir" => self.dir.as_deref(),
            "ttl" => self.ttl.as_deref(),
            "key_type" => self.key_type.as_deref(),
            "owner" => self.owner.as_deref(),
            "group" => self.group.as_deref(),
            "hosts_file" => self.hosts_file.as_deref(),
            _ => None,
        }
    }
}

/// Reads the config file named by `CLUSTERCA_CONFIG` (which must exist), else
/// [`DEFAULT_PATH`] when it exists. A file that cannot be read or parsed, or that holds an
/// unknown key or a bad value, is bad input naming it.
pub fn load() -> Result<&'static Loaded, Failure> {
    if let Some(loaded) = LOADED.get() {
        return Ok(loaded);
    }
    let named = std::env::var_os("CLUSTERCA_CONFIG").filter(|v| !v.is_empty());
    let path = match named {
        Some(p) => PathBuf::from(p),
        None if Path::new(DEFAULT_PATH).exists() => PathBuf::from(DEFAULT_PATH),
        None => return Ok(LOADED.get_or_init(Loaded::default)),
    };
    let loaded = Loaded {
        config: read(&path)?,
        path: Some(path),
    };
    Ok(LOADED.get_or_init(|| loaded))
}

fn read(path: &Path) -> Result<Config, Failure> {
    let shown = crate::output::sanitize(&path.display().to_string()).into_owned();
    // A FIFO or a device in its place is refused, not waited on: every command reads this.
    {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| Failure::input(format!("config {shown}: cannot read it: {e}")))?;
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return Err(Failure::input(format!(
                "config {shown}: not a regular file"
            )));
        }
    }
    let bytes = crate::cmd::read_bounded_input(path, MAX_CONFIG, "a clusterca config file (TOML)")?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::input(format!("config {shown}: not UTF-8 text")))?;
    let config: Config = toml::from_str(&text).map_err(|e| {
        // toml's message may quote the whole key or value: one line, at most 160 characters.
        let said: String = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        let said = match said.char_indices().nth(160) {
            Some((cut, _)) => format!("{}...", said.get(..cut).unwrap_or_default()),
            None => said,
        };
        let at = e
            .span()
            .and_then(|s| text.get(..s.start))
            .map(|before| format!(":{}", before.matches('\n').count() + 1))
            .unwrap_or_default();
        Failure::input(format!(
            "config {shown}{at}: {}",
            crate::output::sanitize(&said)
        ))
    })?;
    if let Some(ttl) = &config.ttl {
        ttl.parse::<clusterca_pki::Ttl>()
            .map_err(|e| Failure::input(format!("config {shown}: ttl: {e}")))?;
    }
    if let Some(kt) = &config.key_type {
        kt.parse::<clusterca_pki::KeyType>().map_err(|_| {
            Failure::input(format!(
                "config {shown}: key_type {}: not a key type (ec-p256, ec-p384, ed25519, rsa-2048, rsa-3072, rsa-4096)",
                clusterca_pki::quote(kt)
            ))
        })?;
    }
    for (key, value) in [("dir", &config.dir), ("hosts_file", &config.hosts_file)] {
        if value.as_deref() == Some("") {
            return Err(Failure::input(format!("config {shown}: {key} is empty")));
        }
    }
    Ok(config)
}

/// `cmd` with the config's values as the defaults of the options they name.
pub fn apply(mut cmd: clap::Command, config: &Config) -> clap::Command {
    for (key, id, commands) in KEYS {
        let Some(value) = config.get(key) else {
            continue;
        };
        for name in *commands {
            let has = cmd
                .find_subcommand(name)
                .is_some_and(|c| c.get_arguments().any(|a| a.get_id() == *id));
            if has {
                let value = value.to_owned();
                cmd = cmd.mut_subcommand(name, |c| c.mut_arg(*id, |a| a.default_value(value)));
            }
        }
    }
    cmd
}

/// One value in effect, for `clusterca config`.
#[derive(Debug, Serialize)]
pub struct Effective {
    pub key: &'static str,
    /// The value (null: none, the option is simply absent).
    pub value: Option<String>,
    /// `built-in`, `config` or `environment` (`CLUSTERCA_DIR`).
    pub source: &'static str,
    /// The options it is the default of.
    pub options: String,
}

/// What every key is now, and where it came from.
pub fn effective(loaded: &Loaded) -> Vec<Effective> {
    BUILT_IN
        .iter()
        .map(|(key, built_in)| {
            let options = KEYS
                .iter()
                .find(|(k, ..)| k == key)
                .map(|(_, id, commands)| {
                    format!("--{} of {}", id.replace('_', "-"), commands.join(", "))
                })
                .unwrap_or_default();
            // Set but empty counts too: every command with --dir refuses it then.
            let env = (*key == "dir")
                .then(|| std::env::var("CLUSTERCA_DIR").ok())
                .flatten();
            let (value, source) = match (env, loaded.config.get(key)) {
                (Some(v), _) => (Some(v), "environment"),
                (None, Some(v)) => (Some(v.to_owned()), "config"),
                (None, None) => (built_in.map(str::to_owned), "built-in"),
            };
            Effective {
                key,
                value,
                source,
                options,
            }
        })
        .collect()
}
