//! An [`InstallPlan`] as a self-contained POSIX `sh` script, for machines without clusterca
//! (run by `dash`, `busybox sh`, `bash --posix`).
//!
//! The script does what [`crate::apply`] does: it refuses symlinks at every final path,
//! creates or fixes directories, and installs each file in two phases. Phase one writes every
//! file that must change to a temporary file in its target directory (`mktemp`, under
//! `umask 077`), checks its SHA-256 against the one recorded here, and sets its owner and mode;
//! only when every file has passed does phase two move them into place (`mv`, after an
//! optional backup) and fix the modes of files whose content was already right. A file whose
//! content, mode and owner match is reported `unchanged` and not touched. Any failure exits
//! non-zero with a message, removing the temporary files: nothing is left half-written.

use std::fmt::Write as _;

use crate::plan::{InstallPlan, Ownership};

/// Quotes `s` for sh: single quotes, with `'` as `'\''`.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn sha256(content: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, content).as_ref())
}

/// `user` and `group` as the script's helpers take them: a name, a number or `-` (keep).
fn owner_args(o: &Ownership) -> String {
    format!(
        "{} {}",
        quote(o.user.as_deref().unwrap_or("-")),
        quote(o.group.as_deref().unwrap_or("-"))
    )
}

const PRELUDE: &str = r#"set -eu
umask 077
changed=0
unchanged=0
temps=
cleanup() {
  for t in $temps; do rm -f -- "$t"; done
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
fail() {
  printf 'clusterca-bundle: error: %s\n' "$*" >&2
  exit 1
}
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum <"$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r <"$1" | cut -d ' ' -f 1
  else
    fail "neither sha256sum nor openssl is installed"
  fi
}
# meta_ok PATH MODE USER GROUP: mode and (when given) owner and group as planned.
meta_ok() {
  [ "$(stat -c %a "$1")" = "$2" ] || return 1
  case "$3" in
    -) ;;
    *[!0-9]*) [ "$(stat -c %U "$1")" = "$3" ] || return 1 ;;
    *) [ "$(stat -c %u "$1")" = "$3" ] || return 1 ;;
  esac
  case "$4" in
    -) ;;
    *[!0-9]*) [ "$(stat -c %G "$1")" = "$4" ] || return 1 ;;
    *) [ "$(stat -c %g "$1")" = "$4" ] || return 1 ;;
  esac
}
# set_meta PATH MODE USER GROUP (never through a symlink: callers refuse those first).
set_meta() {
  if [ "$3" != - ]; then chown -h -- "$3" "$1" || fail "cannot chown $1 to $3"; fi
  if [ "$4" != - ]; then chgrp -h -- "$4" "$1" || fail "cannot chgrp $1 to $4"; fi
  chmod -- "$2" "$1" || fail "cannot chmod $1"
}
no_symlink() {
  if [ -L "$1" ]; then fail "$1 is a symbolic link: refusing to follow it"; fi
}
ensure_dir() {
  no_symlink "$1"
  if [ -e "$1" ] && [ ! -d "$1" ]; then fail "$1 exists and is not a directory"; fi
  if [ ! -d "$1" ]; then
    [ -d "$(dirname -- "$1")" ] || fail "directory $(dirname -- "$1") does not exist"
    mkdir -- "$1" || fail "cannot create directory $1"
    set_meta "$@"
    changed=$((changed + 1)); echo "created   $1"
  elif meta_ok "$@"; then
    unchanged=$((unchanged + 1)); echo "unchanged $1"
  else
    set_meta "$@"
    changed=$((changed + 1)); echo "fixed     $1"
  fi
}
# state PATH MODE USER GROUP SHA256: prints unchanged, fix or write.
state() {
  no_symlink "$1"
  if [ -e "$1" ] && [ ! -f "$1" ]; then fail "$1 exists and is not a regular file"; fi
  [ -d "$(dirname -- "$1")" ] || fail "directory $(dirname -- "$1") does not exist"
  if [ -f "$1" ] && [ "$(sha256_of "$1")" = "$5" ]; then
    if meta_ok "$1" "$2" "$3" "$4"; then echo unchanged; else echo fix; fi
  else
    echo write
  fi
}
# stage PATH MODE USER GROUP SHA256 <content: prints the checked temporary file.
stage() {
  t=$(mktemp "$(dirname -- "$1")/.clusterca.XXXXXX") || fail "cannot create a temporary file beside $1"
  if ! cat >"$t" || [ "$(sha256_of "$t")" != "$5" ]; then
    rm -f -- "$t"
    fail "$1: the content embedded in this bundle does not match its SHA-256: refusing to install it"
  fi
  if ! ( set_meta "$t" "$2" "$3" "$4" ); then rm -f -- "$t"; exit 1; fi
  sync -- "$t" 2>/dev/null || sync
  echo "$t"
}
# finish PATH STATE TEMP MODE USER GROUP BACKUP
finish() {
  case "$2" in
    unchanged) unchanged=$((unchanged + 1)); echo "unchanged $1" ;;
    fix) no_symlink "$1"; set_meta "$1" "$4" "$5" "$6"; changed=$((changed + 1)); echo "fixed     $1" ;;
    write)
      no_symlink "$1"
      if [ -f "$1" ]; then
        if [ "$7" = yes ]; then ln -- "$1" "$1.bak.$stamp" || fail "cannot back up $1"; fi
        verb=replaced
      else
        verb=created
      fi
      mv -f -- "$3" "$1" || fail "cannot move $3 to $1"
      changed=$((changed + 1)); printf '%-9s %s\n' "$verb" "$1"
      ;;
  esac
}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
"#;

/// Renders `plan` as a POSIX sh script. `then` is a command run (by `sh -c`) at the end, only
/// when something changed. The last line the script prints on success is
/// `clusterca-bundle: NAME: N changed, M unchanged`.
pub fn render(plan: &InstallPlan, then: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# clusterca bundle: installs {} ({} directories, {} files). Needs no clusterca: run it",
        plan.name,
        plan.dirs.len(),
        plan.files.len()
    );
    let _ = writeln!(
        s,
        "# with sh (dash, busybox sh) as a user that may write the targets (root to set owners)."
    );
    s.push_str(PRELUDE);
    s.push_str("\n# Directories, parents first.\n");
    for d in &plan.dirs {
        let _ = writeln!(
            s,
            "ensure_dir {} {:o} {}",
            quote(&d.path.to_string_lossy()),
            d.mode,
            owner_args(&d.owner)
        );
    }
    s.push_str(
        "\n# Phase one: every file that must change is written beside its target and checked.\n",
    );
    for (i, f) in plan.files.iter().enumerate() {
        let path = quote(&f.path.to_string_lossy());
        let sum = sha256(&f.content);
        let args = format!("{path} {:o} {} {sum}", f.mode, owner_args(&f.owner));
        let _ = writeln!(s, "s{i}=$(state {args})");
        let _ = writeln!(s, "t{i}=");
        let text = String::from_utf8_lossy(&f.content);
        let mut delim = format!("CLUSTERCA_EOF_{i}_{}", &sum[..16]);
        while text.lines().any(|l| l == delim) {
            delim.push('_');
        }
        let _ = writeln!(s, "if [ \"$s{i}\" = write ]; then");
        let _ = writeln!(s, "  t{i}=$(stage {args} <<'{delim}'");
        s.push_str(&text);
        if !text.ends_with('\n') {
            s.push('\n');
        }
        let _ = writeln!(s, "{delim}");
        let _ = writeln!(s, "  )");
        let _ = writeln!(s, "  temps=\"$temps $t{i}\"");
        let _ = writeln!(s, "fi");
    }
    s.push_str("\n# Phase two: all checked; move into place.\n");
    for (i, f) in plan.files.iter().enumerate() {
        let _ = writeln!(
            s,
            "finish {} \"$s{i}\" \"$t{i}\" {:o} {} {}",
            quote(&f.path.to_string_lossy()),
            f.mode,
            owner_args(&f.owner),
            if plan.backup { "yes" } else { "no" }
        );
    }
    s.push_str("temps=\n");
    if let Some(cmd) = then {
        let _ = writeln!(
            s,
            "if [ \"$changed\" -gt 0 ]; then\n  echo {}\n  sh -c {} || fail {}\nfi",
            quote(&format!("running: {cmd}")),
            quote(cmd),
            quote(&format!("the --then command failed: {cmd}"))
        );
    }
    let _ = writeln!(
        s,
        "echo \"clusterca-bundle: {}: $changed changed, $unchanged unchanged\"",
        plan.name.replace(['"', '$', '`', '\\'], "")
    );
    s
}
