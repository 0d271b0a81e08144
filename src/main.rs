//! The `cafleet` binary: install color-eyre, run the CLI, exit with its code.

fn main() {
    // Panics (which would be bugs) are reported without a backtrace dump by default.
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install();
    let code = cafleet::cli::run(std::env::args_os());
    std::process::exit(code);
}
