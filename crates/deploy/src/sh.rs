//! An [`InstallPlan`] as a self-contained POSIX `sh` script, for machines without clusterca
//! (run by `dash`, `busybox sh`, `bash --posix`), usually as root, piped to `sh` or through
//! `ssh HOST sh -s`.
//!
//! The script does what [`crate::apply`] does, and is written for a target where an
//! unprivileged user (`puppet`) owns the directories it writes into and may rename, replace or
//! symlink anything in them while root runs it:
//!
//! - **A cut-off script does nothing.** Everything, the embedded PEMs (here-documents)
//!   included, is inside one function, `clusterca_bundle_main`, called on the last line with
//!   the word `end-of-bundle`, which it checks. A script cut anywhere before that line ends
//!   inside the function (a syntax error, the shell stops) or never calls it; cut inside the
//!   last line it gets a wrong word and stops. The first command of the script, on the line
//!   after `#!/bin/sh`, is an `EXIT` trap (inside an `if`, so a cut inside that line is a
//!   syntax error) that reports such a script as incomplete and exits 3: only a stream cut
//!   within its first 10 bytes, which is no script at all, exits 0.
//! - **Directories are entered, not named.** Every target directory is entered with `cd -P`
//!   and refused (naming the link) unless `pwd -P` is the absolute path the plan names, so
//!   there is no symbolic link on the way; what follows is done relative to the working
//!   directory, which a later swap of a path component cannot redirect. Directories are
//!   created `mkdir -m 700` and given their owner and mode from inside (`chown -h`, `chmod` on
//!   `.`).
//! - **Temporary files live in a private directory.** In each target directory that gets a
//!   file the script creates `.clusterca-bundle` (`mkdir -m 700`; it refuses when that already
//!   exists: another bundle is running there, or one was killed), checks without following a
//!   link that what it made is its own directory (owner, mode 700, device and inode), enters
//!   it and checks the device and inode again (and the same every time it comes back); a
//!   symlink put in its place is never entered for anything but that check, and nothing is
//!   removed through it. Each file is written there (`set -C`, umask 077), checked against the SHA-256
//!   recorded here, and given its owner and mode before it is moved, with `mv -f -T` from
//!   inside that directory to `../NAME`. Before and after every move the script checks that
//!   the file is still the regular file it made (not a symbolic link; same device, inode,
//!   owner, group and mode as recorded), and that `..` is still the target directory. No
//!   `chmod` or `chown` is ever run on a final path.
//! - **All files or none.** Only when every file is staged and checked are they moved, the
//!   private key first; each old file is kept as a hard link in the private directory. If
//!   anything fails (a move, a check, a signal), the files already moved are put back (the old
//!   ones restored, new ones removed) before the script exits non-zero with one
//!   `clusterca-bundle: error: ...` line. Exit status 0 means everything was installed.
//!
//! An existing file is looked at through a second name (a hard link, `ln`, which never follows
//! a symlink) made in the private directory: a file swapped for a FIFO or a symlink after the
//! first checks is seen as what it is there and refused; nothing is opened by a name in a
//! directory another user can write. A file whose content, mode and owner match is reported
//! `unchanged` and not touched (its directory's mtime moves: the private directory was made
//! and removed there). A file whose content matches but whose
//! owner or mode do not is written again with the right ones (`fixed`). The last line printed
//! on success is `clusterca-bundle: NAME: N changed, M unchanged`.
//!
//! Limits: a symbolic link anywhere on the way to a target directory is refused, also a
//! root-owned one above the layout (give the physical path). The owner of a target directory
//! can still rename it while the script runs: what goes there goes to that directory wherever
//! it now is (never through a link), the script notices it after the move, puts that directory's
//! files back and fails; a private directory it can no longer reach by its path is left where
//! it went and named in the error. Directories created or fixed before a failure stay so. The
//! script needs `mv -T` and `ln -T` (GNU coreutils, BusyBox), `stat -c` and `sha256sum` (or
//! `openssl`).

use std::fmt::Write as _;
use std::path::Path;

use crate::plan::{InstallPlan, Ownership};

/// Quotes `s` for sh: single quotes, with `'` as `'\''`.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The word the last line passes to `clusterca_bundle_main`, which refuses any other.
pub const END_WORD: &str = "end-of-bundle";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn sha256(content: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, content).as_ref())
}

/// `user` and `group` as the script's helpers take them: a name, a number or `-` (keep).
fn owner_args(o: &Ownership) -> String {
    format!(
        "{} {}",
        quote(o.user.as_deref().unwrap_or("-")),
        quote(o.group.as_deref().unwrap_or("-"))
    )
}

/// `path` split into its directory (`.` for a bare name) and its last component.
fn split(path: &Path) -> Option<(String, String)> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_string_lossy().into_owned(),
        _ => ".".to_owned(),
    };
    Some((dir, name))
}

/// The first command, right after the `#!` line: a script that ends before its last line
/// reports itself incomplete. Inside an `if`, so that a cut inside this line is a syntax error
/// too (a bare `trap` cut after its name would list the traps and exit 0).
const TRAP: &str = "if trap 'echo \"clusterca-bundle: error: this bundle is incomplete (cut off \
in transit?): nothing was changed\" >&2; exit 3' EXIT; then :; fi\n";

/// The helpers, defined inside `clusterca_bundle_main`. Every variable and function is
/// `cb_`-prefixed (POSIX sh has no locals).
const HELPERS: &str = r#"set -eufC
umask 077
unset CDPATH
IFS=$(printf ' \t\n_')
IFS=${IFS%_}
cb_err= cb_done= cb_why= cb_js= cb_is= cb_installed= cb_restored= cb_bad= cb_left=
cb_changed=0 cb_unchanged=0 cb_jcount=0
cb_nl='
'
cb_fail() {
  cb_err=$*
  exit 1
}
# cb_try MESSAGE COMMAND...: runs COMMAND; when it fails, cb_why is MESSAGE and its last line.
cb_try() {
  cb_msg=$1
  shift
  if cb_o=$("$@" 2>&1); then return 0; fi
  cb_o=${cb_o##*"$cb_nl"}
  cb_why=$cb_msg${cb_o:+: $cb_o}
  return 1
}
cb_say() {
  printf '%-9s %s\n' "$1" "$2"
  if [ "$1" = unchanged ]; then
    cb_unchanged=$((cb_unchanged + 1))
  else
    cb_changed=$((cb_changed + 1))
  fi
}
cb_sha256() {
  if [ "$cb_sha" = sha256sum ]; then
    sha256sum <"$1" | cut -d ' ' -f 1
  else
    openssl dgst -sha256 -r <"$1" | cut -d ' ' -f 1
  fi
}
# cb_abs PATH: cb_a is PATH made absolute (against the directory the bundle started in), with
# ., .. and repeated slashes resolved lexically; a symbolic link on the way makes the physical
# path differ, and cb_cd refuses it.
cb_abs() {
  case $1 in
    /*) cb_a= ;;
    *) cb_a=${cb_start%/} ;;
  esac
  cb_ifs=$IFS
  IFS=/
  for cb_c in $1; do
    case $cb_c in
      '' | .) ;;
      ..) cb_a=${cb_a%/*} ;;
      *) cb_a=$cb_a/$cb_c ;;
    esac
  done
  IFS=$cb_ifs
  cb_a=${cb_a:-/}
}
# cb_link PATH (absolute): cb_l is the first symbolic link on the way to PATH, if any.
cb_link() {
  cb_l= cb_lp=
  cb_ifs=$IFS
  IFS=/
  for cb_c in $1; do
    [ -n "$cb_c" ] || continue
    cb_lp=$cb_lp/$cb_c
    if [ -L "$cb_lp" ]; then
      cb_l=$cb_lp
      break
    fi
  done
  IFS=$cb_ifs
}
# cb_cd DIR: enters DIR (as the plan names it), refusing a symbolic link anywhere on the way.
# The working directory is then a handle on that directory that a later swap of a path
# component cannot redirect; cb_here is its absolute path.
cb_cd() {
  cb_abs "$1"
  if cd -P "$cb_a" 2>/dev/null; then
    cb_here=$(pwd -P) || cb_here=
    [ "$cb_here" = "$cb_a" ] && return 0
    # Entered somewhere else: a symlink on the way, perhaps swapped back since.
    cb_link "$cb_a"
    cb_why="${cb_l:-a directory on the way to $1} is a symbolic link: refusing to follow it"
    return 1
  fi
  cb_link "$cb_a"
  if [ -n "$cb_l" ]; then
    cb_why="$cb_l is a symbolic link: refusing to follow it"
  elif [ -d "$cb_a" ]; then
    cb_why="cannot enter directory $1"
  else
    cb_why="directory $1 does not exist"
  fi
  return 1
}
# cb_meta_ok NAME MODE USER GROUP: mode and (when given) owner and group as planned.
cb_meta_ok() {
  cb_m=$(stat -c '%a %u %g %U %G' -- "$1") || return 1
  set -- "$2" "$3" "$4" $cb_m
  [ "$1" = "$4" ] || return 1
  case $2 in
    -) ;;
    *[!0-9]*) [ "$2" = "$7" ] || return 1 ;;
    *) [ "$2" = "$5" ] || return 1 ;;
  esac
  case $3 in
    -) ;;
    *[!0-9]*) [ "$3" = "$8" ] || return 1 ;;
    *) [ "$3" = "$6" ] || return 1 ;;
  esac
}
# cb_set_meta NAME MODE USER GROUP, on what only this bundle can reach: a directory it has
# entered (.), or a file in its private directory.
cb_set_meta() {
  if [ "$3" != - ]; then cb_try "cannot chown $cb_what to $3" chown -h -- "$3" "$1" || return 1; fi
  if [ "$4" != - ]; then cb_try "cannot chgrp $cb_what to $4" chgrp -h -- "$4" "$1" || return 1; fi
  cb_try "cannot chmod $cb_what" chmod -- "$2" "$1"
}
# cb_dir PATH PARENT NAME MODE USER GROUP: creates or fixes a directory of the layout.
cb_dir() {
  cb_what=$1
  cb_cd "$2" || cb_fail "$cb_why"
  if [ -L "$3" ]; then cb_fail "$1 is a symbolic link: refusing to follow it"; fi
  if [ -e "$3" ] && [ ! -d "$3" ]; then cb_fail "$1 exists and is not a directory"; fi
  if [ ! -d "$3" ]; then
    cb_try "cannot create directory $1" mkdir -m 700 -- "./$3" || cb_fail "$cb_why"
    cb_cd "$1" || cb_fail "$cb_why"
    cb_set_meta . "$4" "$5" "$6" || cb_fail "$cb_why"
    cb_say created "$1"
  else
    cb_cd "$1" || cb_fail "$cb_why"
    if cb_meta_ok . "$4" "$5" "$6"; then
      cb_say unchanged "$1"
    else
      cb_set_meta . "$4" "$5" "$6" || cb_fail "$cb_why"
      cb_say fixed "$1"
    fi
  fi
}
# cb_target I DIR NAME PATH MODE USER GROUP SHA256: file I goes to DIR/NAME. Files whose
# directories have the same absolute path share a private directory (a symbolic link that would
# make two paths one directory is refused by cb_cd).
cb_target() {
  cb_abs "$2"
  cb_jn=
  for cb_x in $cb_js; do
    if eval "[ \"\$cb_tabs_$cb_x\" = \"\$cb_a\" ]"; then
      cb_jn=$cb_x
      break
    fi
  done
  if [ -z "$cb_jn" ]; then
    cb_jn=$cb_jcount
    cb_jcount=$((cb_jcount + 1))
    cb_js="$cb_js $cb_jn"
    eval "cb_tabs_$cb_jn=\$cb_a cb_td_$cb_jn=\$2"
  fi
  eval "cb_fj_$1=\$cb_jn cb_fd_$1=\$2 cb_fn_$1=\$3 cb_fp_$1=\$4 cb_fm_$1=\$5 cb_fu_$1=\$6 cb_fg_$1=\$7 cb_fs_$1=\$8"
  eval "cb_tf_$cb_jn=\"\${cb_tf_$cb_jn-} \$1\""
  cb_is="$cb_is $1"
}
cb_load() {
  eval "cb_j=\$cb_fj_$1 cb_dir=\$cb_fd_$1 cb_name=\$cb_fn_$1 cb_path=\$cb_fp_$1 cb_mode=\$cb_fm_$1 cb_user=\$cb_fu_$1 cb_group=\$cb_fg_$1 cb_sum=\$cb_fs_$1 cb_s=\${cb_s_$1-}"
  eval "cb_had=\${cb_had_$1-} cb_bak=\${cb_bak_$1-} cb_made=\${cb_made_$1-} cb_dabs=\${cb_dabs_$cb_j-}"
  cb_what=$cb_path
}
# cb_state I: cb_s_I is unchanged, fix (same content), replace or create.
cb_state() {
  cb_load "$1"
  cb_cd "$cb_dir" || cb_fail "$cb_why"
  if [ -L "$cb_name" ]; then cb_fail "$cb_path is a symbolic link: refusing to follow it"; fi
  if [ -e "$cb_name" ] && [ ! -f "$cb_name" ]; then cb_fail "$cb_path exists and is not a regular file"; fi
  if [ ! -e "$cb_name" ] && [ ! -L "$cb_name" ]; then
    cb_s=create
  else
    # Looked at through a second name in the private directory, which nobody else can
    # change: a file swapped for a FIFO or a symlink after the checks above is seen as what
    # it is there (ln makes a link to the symlink itself), never opened by a name in a
    # directory another user can write.
    cb_enter "$cb_j" || cb_fail "$cb_why"
    cb_try "cannot look at $cb_path" ln -- "../$cb_name" probe || cb_fail "$cb_why"
    if [ -L probe ] || [ ! -f probe ]; then
      rm -f -- probe
      cb_fail "$cb_path was replaced by something other than a regular file: refusing to read it"
    fi
    if [ "$(cb_sha256 probe)" != "$cb_sum" ]; then
      cb_s=replace
    elif cb_meta_ok probe "$cb_mode" "$cb_user" "$cb_group"; then
      cb_s=unchanged
    else
      cb_s=fix
    fi
    rm -f -- probe
  fi
  eval "cb_s_$1=\$cb_s"
}
# cb_enter J: enters the private directory of target directory J, DIR/.clusterca-bundle, made
# (mkdir -m 700, refused when it exists) the first time and checked to be the same each time.
cb_enter() {
  eval "cb_d=\$cb_td_$1 cb_tid=\${cb_tid_$1-}"
  cb_t=$cb_d/.clusterca-bundle
  cb_cd "$cb_d" || return 1
  if [ -z "$cb_tid" ]; then
    if [ -e .clusterca-bundle ] || [ -L .clusterca-bundle ]; then
      cb_why="$cb_t exists: another bundle is running there, or one was stopped (remove it when none is running)"
      return 1
    fi
    cb_try "cannot create $cb_t" mkdir -m 700 .clusterca-bundle || return 1
    eval "cb_tmade_$1=1 cb_dabs_$1=\$cb_here"
    # What was just made, seen without following a symlink (stat without -L): a directory of
    # this user, 0700. Its device and inode tell it from anything put in its place later.
    cb_m=$(stat -c '%F:%u:%a:%d:%i' ./.clusterca-bundle 2>/dev/null) || cb_m=
    case $cb_m in
      "directory:$cb_uid:700:"*) cb_mid=${cb_m#"directory:$cb_uid:700:"} ;;
      *)
        cb_why="$cb_t was replaced while the bundle made it (a symbolic link put in its place?): refusing to use it"
        return 1
        ;;
    esac
    if cd -P ./.clusterca-bundle 2>/dev/null; then
      if [ "$(stat -c '%d:%i' .)" != "$cb_mid" ]; then
        # Not the directory made a moment ago: a symlink was put in its place. Leave
        # wherever this is untouched.
        cb_why="$cb_t was swapped for a symbolic link while the bundle ran: refusing to follow it"
        return 1
      fi
      if [ "$(pwd -P)" = "$cb_here/.clusterca-bundle" ] && [ -z "$(ls -A)" ]; then
        cb_tid=$cb_mid
        eval "cb_tid_$1=\$cb_tid"
        return 0
      fi
      # Inside the directory this bundle made, but its path is not what it was: the directory
      # above was moved or swapped. Remove it from inside: its real parent is `..` (wherever
      # it was moved to, a directory whoever moved it can write), and it is removed there only
      # while that name is still this very directory.
      if [ -z "$(ls -A)" ] && cd -P .. &&
        [ "$(stat -c '%d:%i' ./.clusterca-bundle 2>/dev/null)" = "$cb_mid" ] &&
        rmdir -- .clusterca-bundle 2>/dev/null; then
        eval "cb_tmade_$1="
      fi
      cb_why="$cb_d was moved or swapped for a symbolic link while the bundle ran: refusing to follow it"
      return 1
    fi
  elif cd -P ./.clusterca-bundle 2>/dev/null; then
    if [ "$(pwd -P)" = "$cb_here/.clusterca-bundle" ] &&
      [ "$(stat -c '%d:%i %u %a' .)" = "$cb_tid $cb_uid 700" ]; then
      return 0
    fi
    cb_why="$cb_d was moved or swapped for a symbolic link while the bundle ran: refusing to follow it"
    return 1
  fi
  cb_why="$cb_t is not the directory this bundle made: refusing to use it"
  return 1
}
# cb_ours I NAME: NAME (in the working directory) is the regular file made for file I, with
# the device, inode, owner, group and mode recorded when it was made; cb_got says what it is.
cb_ours() {
  eval "cb_want=\${cb_made_$1-}"
  if [ -L "$2" ]; then
    cb_got="a symbolic link to $(readlink -- "$2" 2>/dev/null || echo '?')"
  elif [ ! -e "$2" ]; then
    cb_got="gone"
  elif [ ! -f "$2" ]; then
    cb_got="not a regular file"
  elif [ -z "$cb_want" ] || [ "$(stat -c '%d:%i %u %g %a' -- "$2" 2>/dev/null)" != "$cb_want" ]; then
    cb_got="another file"
  else
    return 0
  fi
  return 1
}
# cb_stage I: writes file I (standard input) to new.I in the private directory beside it,
# checks its SHA-256, sets its owner and mode, and records what it made.
cb_stage() {
  cb_load "$1"
  cb_enter "$cb_j" || cb_fail "$cb_why"
  cb_new=$cb_t/new.$1
  cat >"new.$1" || cb_fail "cannot write $cb_new"
  if [ -L "new.$1" ] || [ ! -f "new.$1" ]; then cb_fail "$cb_new is not the file this bundle wrote"; fi
  cb_id=$(stat -c '%d:%i' -- "new.$1") || cb_fail "cannot stat $cb_new"
  if [ "$(cb_sha256 "new.$1")" != "$cb_sum" ]; then
    cb_fail "$cb_path: the content embedded in this bundle does not match its SHA-256: refusing to install it"
  fi
  cb_set_meta "new.$1" "$cb_mode" "$cb_user" "$cb_group" || cb_fail "$cb_why"
  sync -- "new.$1" 2>/dev/null || sync
  cb_made=$(stat -c '%d:%i %u %g %a' -- "new.$1") || cb_fail "cannot stat $cb_new"
  case $cb_made in
    "$cb_id "*) ;;
    *) cb_made= ;;
  esac
  eval "cb_made_$1=\$cb_made"
  cb_ours "$1" "new.$1" || cb_fail "$cb_new is not the file this bundle wrote ($cb_got): refusing to install it"
}
# cb_commit I: moves new.I over DIR/NAME from inside the private directory (keeping the old
# file as old.I there, and as NAME.bak.STAMP with --backup), then checks what is in place.
cb_commit() {
  cb_load "$1"
  [ "$cb_s" != unchanged ] || return 0
  cb_enter "$cb_j" || cb_fail "$cb_why"
  cb_ours "$1" "new.$1" || cb_fail "$cb_t/new.$1 is not the file this bundle wrote ($cb_got): refusing to install it"
  if [ -L "../$cb_name" ]; then cb_fail "$cb_path is a symbolic link: refusing to replace it"; fi
  if [ -e "../$cb_name" ]; then
    [ -f "../$cb_name" ] || cb_fail "$cb_path exists and is not a regular file"
    cb_old=$(stat -c '%d:%i' -- "../$cb_name") || cb_fail "cannot stat $cb_path"
    cb_try "cannot keep the old $cb_path" ln -- "../$cb_name" "old.$1" || cb_fail "$cb_why"
    if [ -L "old.$1" ] || [ "$(stat -c '%d:%i' -- "old.$1")" != "$cb_old" ]; then
      cb_fail "$cb_path changed while the bundle ran: refusing to replace it"
    fi
    eval "cb_had_$1=1"
    if [ "$cb_s" = replace ] && [ "$cb_backup" = yes ]; then
      cb_try "cannot back up $cb_path" ln -T -- "old.$1" "../$cb_name.bak.$cb_stamp" || cb_fail "$cb_why"
      eval "cb_bak_$1=1"
    fi
  elif [ "$cb_s" != create ]; then
    cb_fail "$cb_path disappeared while the bundle ran"
  fi
  cb_installed="$1 $cb_installed"
  cb_try "cannot move $cb_path into place" mv -f -T -- "new.$1" "../$cb_name" || cb_fail "$cb_why"
  # .. is the directory entered, whatever became of its name: if that is no longer the
  # planned path, undo what went there and refuse.
  if [ "$(cd -P .. && pwd -P)" != "$cb_dabs" ]; then
    cb_abs "$cb_dir"
    cb_link "$cb_a"
    cb_undo "$cb_j"
    if [ -n "$cb_l" ]; then
      cb_fail "$cb_l is a symbolic link (swapped in while the bundle ran): refusing to follow it"
    fi
    cb_fail "directory $cb_dir was moved while the bundle ran: refusing to install there"
  fi
  cb_ours "$1" "../$cb_name" || cb_fail "$cb_path is not the file this bundle wrote after the move ($cb_got): refusing it"
}
# cb_undo J (inside J's private directory): puts back the files of J already moved (the old
# file, or none), then removes the private directory.
cb_undo() {
  eval "cb_ulist=\$cb_tf_$1"
  for cb_u in $cb_ulist; do
    case " $cb_installed " in
      *" $cb_u "*) ;;
      *) continue ;;
    esac
    cb_load "$cb_u"
    if [ -n "$cb_had" ]; then
      if [ ! -L "../$cb_name" ] && [ -f "../$cb_name" ] &&
        [ "$(stat -c '%d:%i' -- "../$cb_name" 2>/dev/null)" = "$(stat -c '%d:%i' -- "old.$cb_u" 2>/dev/null)" ]; then
        : # Never replaced: the old file is still in place.
      elif cb_try "" mv -f -T -- "old.$cb_u" "../$cb_name"; then
        cb_restored="$cb_restored $cb_path"
      else
        cb_bad="$cb_bad; could not restore $cb_path (the old file is $cb_t/old.$cb_u$cb_why)"
        continue
      fi
    elif cb_ours "$cb_u" "../$cb_name"; then
      if cb_try "" rm -f -- "../$cb_name"; then
        cb_restored="$cb_restored $cb_path"
      else
        cb_bad="$cb_bad; could not remove the new $cb_path$cb_why"
      fi
    fi
    if [ -n "$cb_bak" ]; then rm -f -- "../$cb_name.bak.$cb_stamp" 2>/dev/null || :; fi
    cb_rest=
    for cb_v in $cb_installed; do
      [ "$cb_v" = "$cb_u" ] || cb_rest="$cb_rest $cb_v"
    done
    cb_installed=$cb_rest
  done
  cb_clean "$1"
}
# cb_clean J (inside J's private directory): removes it, unless it keeps an old file that
# could not be put back.
cb_clean() {
  cb_keep=
  eval "cb_clist=\$cb_tf_$1"
  for cb_u in $cb_clist; do
    case " $cb_installed " in
      *" $cb_u "*) [ -n "$cb_done" ] || cb_keep=1 ;;
    esac
  done
  eval "cb_tdone_$1=1"
  [ -z "$cb_keep" ] || return 0
  for cb_u in $cb_clist; do
    rm -f -- "new.$cb_u" "old.$cb_u" 2>/dev/null || :
  done
  if ! cd -P .. || ! cb_try "" rmdir -- .clusterca-bundle; then
    cb_left="$cb_left; could not remove $cb_t$cb_why"
    return 1
  fi
}
# cb_again CMD...: CMD, tried up to 100 times. A directory another user keeps swapping for a
# symlink is refused while it is one and back at its name a moment later: putting things back
# must not give up at the first refusal (a symlink left in place is still never followed).
cb_again() {
  cb_n=0
  while [ "$cb_n" -lt 100 ]; do
    "$@" && return 0
    cb_n=$((cb_n + 1))
  done
  return 1
}
cb_on_exit() {
  cb_rc=$?
  set +e
  trap '' HUP INT TERM PIPE
  for cb_jj in $cb_js; do
    eval "cb_m=\${cb_tmade_$cb_jj-} cb_g=\${cb_tdone_$cb_jj-} cb_tid=\${cb_tid_$cb_jj-}"
    [ -n "$cb_m" ] && [ -z "$cb_g" ] || continue
    if [ -z "$cb_tid" ]; then
      # Made, but never found to be ours: remove it only if it is an empty directory.
      eval "cb_d=\$cb_td_$cb_jj"
      if ! cb_again cb_cd "$cb_d" || ! rmdir -- .clusterca-bundle 2>/dev/null; then
        cb_left="$cb_left; could not remove $cb_d/.clusterca-bundle"
      fi
    elif cb_again cb_enter "$cb_jj"; then
      if [ -n "$cb_done" ]; then cb_clean "$cb_jj"; else cb_undo "$cb_jj"; fi
    else
      [ "$cb_why" = "$cb_err" ] || cb_left="$cb_left; $cb_why"
      cb_left="$cb_left; left $cb_t behind"
      eval "cb_elist=\$cb_tf_$cb_jj"
      for cb_u in $cb_elist; do
        case " $cb_installed " in
          *" $cb_u "*) cb_load "$cb_u"; cb_bad="$cb_bad; could not restore $cb_path" ;;
        esac
      done
    fi
  done
  if [ "$cb_rc" -ne 0 ] || [ -n "$cb_err$cb_bad$cb_left" ]; then
    [ -n "$cb_err" ] || cb_err="stopped (exit status $cb_rc)"
    if [ -n "$cb_done" ]; then
      cb_err="$cb_err (every file was installed)"
    elif [ -n "$cb_bad" ]; then
      cb_err="$cb_err (put back:${cb_restored:- nothing})$cb_bad"
    elif [ -n "$cb_restored" ]; then
      cb_err="$cb_err: no file was changed (put back:$cb_restored)"
    else
      cb_err="$cb_err: no file was changed"
    fi
    printf 'clusterca-bundle: error: %s%s\n' "$cb_err" "$cb_left" >&2
    [ "$cb_rc" -ne 0 ] || cb_rc=1
  fi
  exit "$cb_rc"
}
# cb_finish: everything is in place: reports it, removes the private directories.
cb_finish() {
  cb_done=1
  for cb_i in $cb_is; do
    cb_load "$cb_i"
    case $cb_s in
      unchanged) cb_say unchanged "$cb_path" ;;
      fix) cb_say fixed "$cb_path" ;;
      replace) cb_say replaced "$cb_path" ;;
      create) cb_say created "$cb_path" ;;
    esac
  done
  for cb_jj in $cb_js; do
    eval "cb_m=\${cb_tmade_$cb_jj-}"
    [ -n "$cb_m" ] || continue
    cb_enter "$cb_jj" || cb_fail "$cb_why"
    cb_clean "$cb_jj" || cb_fail "cannot clean up"
  done
  cd -P "$cb_start" || cb_fail "cannot go back to $cb_start"
}
cb_start=$(pwd -P) || cb_fail "cannot find the current directory"
cb_uid=$(id -u) || cb_fail "cannot find the current user"
trap cb_on_exit EXIT
trap 'cb_err="stopped by a signal"; exit 1' HUP INT TERM PIPE
if command -v sha256sum >/dev/null 2>&1; then
  cb_sha=sha256sum
elif command -v openssl >/dev/null 2>&1; then
  cb_sha=openssl
else
  cb_fail "neither sha256sum nor openssl is installed"
fi
cb_stamp=$(date -u +%Y%m%dT%H%M%SZ)
"#;

/// Renders `plan` as a POSIX sh script. `then` is a command run (by `sh -c`, in the directory
/// the script started in) at the end, only when something changed. The last line the script
/// prints on success is `clusterca-bundle: NAME: N changed, M unchanged`.
pub fn render(plan: &InstallPlan, then: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    s.push_str(TRAP);
    let _ = writeln!(
        s,
        "# clusterca bundle: installs {} ({} directories, {} files). Needs no clusterca: run it",
        plan.name.replace(['\n', '\r'], ""),
        plan.dirs.len(),
        plan.files.len()
    );
    s.push_str(
        "# with sh (dash, busybox sh) as a user that may write the targets (root to set owners).\n\
         # It is one function called on the last line: cut off anywhere, it changes nothing.\n",
    );
    s.push_str("clusterca_bundle_main() {\n");
    let _ = writeln!(s, "[ \"$#\" -eq 1 ] && [ \"$1\" = {END_WORD} ] || exit 3");
    s.push_str(HELPERS);
    let _ = writeln!(s, "cb_backup={}", if plan.backup { "yes" } else { "no" });

    s.push_str("\n# Files: index, directory, name, path, mode, owner, group, SHA-256.\n");
    for (i, f) in plan.files.iter().enumerate() {
        let Some((dir, name)) = split(&f.path) else {
            let _ = writeln!(
                s,
                "cb_fail {}",
                quote(&format!(
                    "{}: not a file name: nothing was installed",
                    f.path.to_string_lossy()
                ))
            );
            continue;
        };
        let _ = writeln!(
            s,
            "cb_target {i} {} {} {} {:o} {} {}",
            quote(&dir),
            quote(&name),
            quote(&f.path.to_string_lossy()),
            f.mode,
            owner_args(&f.owner),
            sha256(&f.content)
        );
    }

    s.push_str("\n# Directories, parents first.\n");
    for d in &plan.dirs {
        let path = d.path.to_string_lossy();
        match split(&d.path) {
            Some((parent, name)) => {
                let _ = writeln!(
                    s,
                    "cb_dir {} {} {} {:o} {}",
                    quote(&path),
                    quote(&parent),
                    quote(&name),
                    d.mode,
                    owner_args(&d.owner)
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "cb_fail {}",
                    quote(&format!("{path}: not a directory name"))
                );
            }
        }
    }

    s.push_str("\n# What each file needs, before anything is written.\n");
    for i in 0..plan.files.len() {
        let _ = writeln!(s, "cb_state {i}");
    }

    s.push_str(
        "\n# Every file that must change is written to the private directory beside it and \
         checked.\n",
    );
    for (i, f) in plan.files.iter().enumerate() {
        let text = String::from_utf8_lossy(&f.content);
        let sum = sha256(&f.content);
        let mut delim = format!("CLUSTERCA_EOF_{i}_{}", &sum[..16]);
        while text.lines().any(|l| l == delim) {
            delim.push('_');
        }
        let _ = writeln!(s, "if [ \"$cb_s_{i}\" != unchanged ]; then");
        let _ = writeln!(s, "cb_stage {i} <<'{delim}'");
        s.push_str(&text);
        if !text.ends_with('\n') {
            s.push('\n');
        }
        let _ = writeln!(s, "{delim}");
        s.push_str("fi\n");
    }

    s.push_str(
        "\n# All checked: move them into place, the private key first; any failure puts back \
         what was moved.\n",
    );
    let is_key = |(_, f): &(usize, &crate::plan::PlannedFile)| f.what == "private key";
    let files = || plan.files.iter().enumerate();
    let keys_first = files()
        .filter(is_key)
        .chain(files().filter(|f| !is_key(f)))
        .map(|(i, _)| i);
    for i in keys_first {
        let _ = writeln!(s, "cb_commit {i}");
    }
    s.push_str("cb_finish\n");
    if let Some(cmd) = then {
        let _ = writeln!(
            s,
            "if [ \"$cb_changed\" -gt 0 ]; then\n  echo {}\n  sh -c {} 2>&1 || cb_fail {}\nfi",
            quote(&format!("running: {cmd}")),
            quote(cmd),
            quote(&format!("the --then command failed: {cmd}"))
        );
    }
    let _ = writeln!(
        s,
        "echo \"clusterca-bundle: {}: $cb_changed changed, $cb_unchanged unchanged\"",
        plan.name.replace(['"', '$', '`', '\\', '\n', '\r'], "")
    );
    s.push_str("}\n");
    let _ = writeln!(s, "clusterca_bundle_main {END_WORD}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Layout, Sources};

    fn plan(cert: &str) -> InstallPlan {
        let src = Sources {
            name: "web1.example.net".into(),
            cert: cert.as_bytes().to_vec(),
            key: Some(b"-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n".to_vec()),
            ca: b"-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n".to_vec(),
            crl: None,
        };
        let layout = Layout::Puppet {
            ssldir: "/etc/puppet/ssl".into(),
        };
        InstallPlan::new(&layout, &src, &Ownership::default(), false)
    }

    #[test]
    fn the_script_is_one_function_called_on_its_last_line() {
        let script = render(&plan("cert\n"), Some("systemctl reload x"));
        let lines: Vec<&str> = script.lines().collect();
        assert_eq!(
            lines[lines.len() - 1],
            "clusterca_bundle_main end-of-bundle"
        );
        assert_eq!(lines[lines.len() - 2], "}");
        assert!(script.ends_with('\n'));
        let open = lines
            .iter()
            .position(|l| *l == "clusterca_bundle_main() {")
            .unwrap();
        // Before the function: the shebang, then at once the trap that reports a cut script
        // (inside an `if`, so that no cut of that line runs anything), then comments.
        assert_eq!(lines[0], "#!/bin/sh");
        assert!(lines[1].starts_with("if trap '") && lines[1].ends_with("EXIT; then :; fi"));
        for l in &lines[2..open] {
            assert!(l.starts_with('#'), "{l}");
        }
        // The first thing the function does is check the word on the last line.
        assert_eq!(
            lines[open + 1],
            "[ \"$#\" -eq 1 ] && [ \"$1\" = end-of-bundle ] || exit 3"
        );
        // Every embedded file, and the --then command, is inside it.
        for needle in [
            "BEGIN PRIVATE KEY",
            "BEGIN CERTIFICATE",
            "systemctl reload x",
        ] {
            let at = lines.iter().position(|l| l.contains(needle)).unwrap();
            assert!(open < at && at < lines.len() - 2, "{needle} at line {at}");
        }
    }

    #[test]
    fn the_key_moves_first_and_every_file_is_staged() {
        let script = render(&plan("cert\n"), None);
        let at = |s: &str| script.find(s).unwrap_or_else(|| panic!("no {s}"));
        // Plan order: certificate 0, key 1, CA bundle 2.
        assert!(at("cb_commit 1\n") < at("cb_commit 0\n"));
        assert!(at("cb_commit 0\n") < at("cb_commit 2\n"));
        for i in 0..3 {
            assert!(at(&format!("cb_stage {i} <<")) < at("cb_commit 1\n"));
        }
        assert!(script.contains(
            "cb_target 1 '/etc/puppet/ssl/private_keys' 'web1.example.net.pem' \
             '/etc/puppet/ssl/private_keys/web1.example.net.pem' 640 '-' '-' "
        ));
    }

    #[test]
    fn paths_split_into_directory_and_name() {
        assert_eq!(
            split(Path::new("cert.pem")),
            Some((".".into(), "cert.pem".into()))
        );
        assert_eq!(
            split(Path::new("/etc/x/c.pem")),
            Some(("/etc/x".into(), "c.pem".into()))
        );
        assert_eq!(split(Path::new("ssl")), Some((".".into(), "ssl".into())));
        assert_eq!(split(Path::new("/")), None);
        assert_eq!(split(Path::new("a/..")), None);
    }
}
