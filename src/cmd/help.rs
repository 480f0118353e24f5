//! `completions` and `help`: the command line describing itself.

use std::io::Write;

use crate::cli::{CompletionsArgs, HelpArgs};
use crate::output::sanitize;
use crate::{Failure, Outcome};

/// `clusterca completions SHELL`: the shell's completion script on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<Outcome, Failure> {
    let mut out = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut crate::cli::command(),
        "clusterca",
        &mut out,
    );
    std::io::stdout().lock().write_all(&out)?;
    Ok(Outcome::Clean)
}

/// `clusterca help [COMMAND]`: the whole help of COMMAND, then its examples.
pub fn help(args: &HelpArgs) -> Result<Outcome, Failure> {
    let mut cmd = crate::cli::command();
    let name = args.command.as_deref().unwrap_or("");
    let help = if name.is_empty() {
        cmd.render_long_help()
    } else {
        cmd.build();
        let Some(sub) = cmd.find_subcommand_mut(name) else {
            return Err(Failure::input(format!(
                "help: no command \"{}\" (`clusterca help` lists them)",
                sanitize(name)
            )));
        };
        sub.render_long_help()
    };
    use std::io::IsTerminal;
    let mut out = std::io::stdout().lock();
    let styled = out.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let text = if styled {
        help.ansi().to_string()
    } else {
        help.to_string()
    };
    write!(out, "{text}\n{}", crate::man::examples_text(name))?;
    Ok(Outcome::Clean)
}

/// `--format json` output of `config`.
#[derive(serde::Serialize)]
struct ConfigReport {
    /// The config file read, null when none was.
    file: Option<String>,
    values: Vec<crate::config::Effective>,
}

impl crate::output::Report for ConfigReport {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "config file  {}",
            self.file.as_deref().map_or_else(
                || format!("none ({} does not exist)", crate::config::DEFAULT_PATH),
                |f| sanitize(f).into_owned()
            )
        )?;
        for v in &self.values {
            writeln!(
                out,
                "{:<11}  {:<24}  {:<11}  {}",
                v.key,
                v.value.as_deref().map_or_else(|| "(none)".into(), sanitize),
                v.source,
                v.options
            )?;
        }
        Ok(())
    }
}

/// `clusterca config`: the defaults in effect and where each came from.
pub fn config(g: &crate::cli::Global) -> Result<Outcome, Failure> {
    let loaded = crate::config::load()?;
    let report = ConfigReport {
        file: loaded.path.as_ref().map(|p| p.display().to_string()),
        values: crate::config::effective(loaded),
    };
    crate::output::emit(g.format, &report)?;
    Ok(Outcome::Clean)
}
