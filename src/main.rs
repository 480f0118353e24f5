//! The `clusterca` binary: everything is in the library (src/lib.rs).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    clusterca::main()
}
