//! `shoplens`: the command line (and, once it exists, the desktop app when run without a command).

use clap::Parser;

fn main() -> std::process::ExitCode {
    // A bug must still end in one readable line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        if shoplens::jobs::panic_is_expected() {
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        eprintln!("internal error: {message} (please report this)");
    }));
    let cli = shoplens::cli::Cli::parse();
    match shoplens::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // A message can quote what a workspace stores: inert on the terminal.
            eprintln!("error: {}", shoplens::cli::output::inert(&err.to_string()));
            std::process::ExitCode::FAILURE
        }
    }
}
