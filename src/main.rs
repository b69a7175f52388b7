//! The `prep` command: parse arguments, run a subcommand (src/cli/), map the outcome to an exit
//! code (0 clean, 1 findings such as rejected rows, 2 could not run, 130 interrupted).

#![deny(unsafe_code)]

mod cli;

use clap::Parser;

fn main() {
    prep::pipeline::use_one_malloc_heap();
    // Past a file size limit (`ulimit -f`) the kernel's SIGXFSZ would end the process without
    // a word; with a handler the write fails with "File too large" instead, and the error names
    // the file as every write error does.
    #[cfg(unix)]
    let _ = signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    prep::model::guard::quiet_panics_in_decoders();
    let args = cli::Cli::parse();
    let code = match cli::run(args) {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<prep::pipeline::Interrupted>().is_some() => {
            eprintln!(
                "prep: interrupted: the run stopped before its end and removed the parts and manifests it had written; nothing is complete, run it again"
            );
            130
        }
        Err(e) => {
            eprintln!("prep: error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}
