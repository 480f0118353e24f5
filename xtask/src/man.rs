//! Rendering of man pages from the clap definitions: one page for `clusterca` and one per
//! subcommand (`clusterca-issue.1`, ...). Shared by `cargo xtask man` and the test that fails
//! when `man/` is stale.

use clap::Command;

/// Every man page as (file name, roff bytes), in a stable order.
pub fn render_all(cmd: Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = cmd;
    cmd.build();
    let mut pages = Vec::new();
    let mut top = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut top)?;
    pages.push((format!("{}.1", cmd.get_name()), top));
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let name = format!("{}-{}", cmd.get_name(), sub.get_name());
        let page_cmd = sub.clone().name(name.clone());
        let mut buf = Vec::new();
        clap_mangen::Man::new(page_cmd).render(&mut buf)?;
        pages.push((format!("{name}.1"), buf));
    }
    Ok(pages)
}
