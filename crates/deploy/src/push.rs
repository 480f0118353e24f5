//! Running bundles over the system `ssh`, many hosts at once.
//!
//! Each host gets `ssh [-o OPT]... HOST sh -s` with its bundle on standard input, so
//! `~/.ssh/config`, agents and jump hosts work as they do for the operator. `BatchMode=yes`
//! keeps a host that wants a password from hanging the run.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

/// One host and the script to run there.
#[derive(Debug, Clone)]
pub struct HostJob {
    /// What to show for it (`HOST`, or `HOST ssldir=DIR`).
    pub label: String,
    /// The ssh destination (`host`, `user@host`, `ssh://user@host:port`, a config alias).
    pub destination: String,
    /// The bundle.
    pub script: String,
}

/// How a host fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    /// Something was installed or fixed.
    Changed,
    /// Everything was already in place.
    Unchanged,
    /// ssh or the bundle failed.
    Failed,
}

/// The result for one host.
#[derive(Debug, Clone, Serialize)]
pub struct HostResult {
    /// The host's label.
    pub host: String,
    /// Outcome.
    pub status: HostStatus,
    /// Files and directories changed (from the bundle's summary).
    pub changed: usize,
    /// Files and directories already in place.
    pub unchanged: usize,
    /// Why it failed: the last line of standard error.
    pub reason: Option<String>,
    /// Wall time, seconds.
    pub seconds: f64,
    /// What the `--then` command printed (stdout and stderr), its last 40 lines, when it ran.
    pub then_output: Option<String>,
}

/// The lines the bundle's `--then` command printed: those after its `running: ` line and
/// before the summary (or the end), the last 40 of them and at most 4 KiB of those (whole
/// lines, or the end of a longer one); `None` when it did not run.
fn then_output(stdout: &str) -> Option<String> {
    const LINES: usize = 40;
    const BYTES: usize = 4096;
    let mut after = stdout.lines().skip_while(|l| !l.starts_with("running: "));
    after.next()?;
    let printed: Vec<&str> = after
        .take_while(|l| !l.starts_with("clusterca-bundle: "))
        .collect();
    // From the end back: whole lines while they fit.
    let mut kept: Vec<&str> = Vec::new();
    let mut size = 0;
    for line in printed.iter().rev().take(LINES) {
        if size + line.len() + 1 > BYTES {
            if kept.is_empty() {
                // One line longer than the cap: its end, from a character boundary.
                let from = line
                    .char_indices()
                    .map(|(i, _)| i)
                    .find(|i| line.len() - i <= BYTES)
                    .unwrap_or(line.len());
                kept.push(line.get(from..).unwrap_or_default());
            }
            break;
        }
        size += line.len() + 1;
        kept.push(line);
    }
    kept.reverse();
    Some(kept.join("\n"))
}

fn summary(stdout: &str) -> Option<(usize, usize)> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("clusterca-bundle: "))?;
    let counts = line.rsplit_once(": ")?.1;
    let (c, u) = counts.split_once(" changed, ")?;
    Some((c.parse().ok()?, u.strip_suffix(" unchanged")?.parse().ok()?))
}

fn run_one(job: &HostJob, ssh_options: &[String]) -> HostResult {
    let start = Instant::now();
    let mut cmd = Command::new("ssh");
    cmd.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]);
    for o in ssh_options {
        cmd.arg("-o").arg(o);
    }
    cmd.arg("--")
        .arg(&job.destination)
        .args(["sh", "-s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let failed = |reason: String| HostResult {
        host: job.label.clone(),
        status: HostStatus::Failed,
        changed: 0,
        unchanged: 0,
        reason: Some(reason),
        seconds: start.elapsed().as_secs_f64(),
        then_output: None,
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot run ssh: {e}")),
    };
    let script = job.script.clone();
    let mut stdin = child.stdin.take();
    // Write on a thread: a host that fails early must not block us on a full pipe.
    let writer = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(script.as_bytes());
        }
    });
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => return failed(format!("ssh: {e}")),
    };
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last_err = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::to_owned);
    match (out.status.success(), summary(&stdout)) {
        (true, Some((changed, unchanged))) => HostResult {
            host: job.label.clone(),
            status: if changed > 0 {
                HostStatus::Changed
            } else {
                HostStatus::Unchanged
            },
            changed,
            unchanged,
            reason: None,
            seconds: start.elapsed().as_secs_f64(),
            then_output: then_output(&stdout),
        },
        (true, None) => failed("the bundle printed no summary".into()),
        (false, _) => HostResult {
            then_output: then_output(&stdout),
            ..failed(last_err.unwrap_or_else(|| format!("ssh exited with {}", out.status)))
        },
    }
}

/// Runs every job, at most `jobs` at once; `progress` is called with (done, total) as hosts
/// finish. Results are in the order of `hosts`.
pub fn push(
    hosts: &[HostJob],
    ssh_options: &[String],
    jobs: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<HostResult> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<HostResult>>> = Mutex::new(vec![None; hosts.len()]);
    progress(0, hosts.len());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, hosts.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = hosts.get(i) else { break };
                let r = run_one(job, ssh_options);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, hosts.len());
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_summary_is_read_from_the_last_summary_line() {
        assert_eq!(
            summary("created   /x\nclusterca-bundle: web1: 3 changed, 4 unchanged\n"),
            Some((3, 4))
        );
        assert_eq!(summary("no summary\n"), None);
    }
}

#[cfg(test)]
mod then_tests {
    use super::then_output;

    #[test]
    fn the_then_commands_output_is_what_it_printed_between_its_line_and_the_summary() {
        let out = "clusterca-bundle: installed x\nrunning: systemctl reload x\nreloaded\nwarning: y\nclusterca-bundle: x: 2 changed, 5 unchanged\n";
        assert_eq!(then_output(out).as_deref(), Some("reloaded\nwarning: y"));
        // Failed: no summary after it.
        assert_eq!(then_output("running: false\n").as_deref(), Some(""));
        // Not run.
        assert_eq!(
            then_output("clusterca-bundle: x: 0 changed, 7 unchanged\n"),
            None
        );
        // Long: the last 40 lines.
        let long: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let text = then_output(&format!("running: c\n{long}")).unwrap();
        assert!(
            text.starts_with("line 60\n") && text.ends_with("line 99"),
            "{text}"
        );
        // At most 4 KiB: the last whole lines that fit, or the end of one longer line.
        let wide: String = (0..10)
            .map(|i| format!("{i}{}\n", "x".repeat(999)))
            .collect();
        let text = then_output(&format!("running: c\n{wide}")).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.starts_with('6') && text.len() <= 4096);
        let one = format!("running: c\né{}\n", "y".repeat(5000));
        assert_eq!(then_output(&one).unwrap(), "y".repeat(4096));
    }
}
