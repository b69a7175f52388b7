//! What the commands show while they run: the library's progress and notices
//! ([`prep::model::observe::Observer`]) drawn as a bar or spinner on a terminal, as a line every
//! few seconds in a log, or not at all; notices are always printed (on stderr).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use prep::model::observe::{Observe, Observer};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    /// A bar (or a spinner for work of unknown size) on stderr, redrawn in place.
    Bar,
    /// A line on stderr at most every `every`, for logs.
    Lines(Duration),
    /// Nothing but notices.
    Nothing,
}

struct State {
    bar: Option<ProgressBar>,
    last_line: Option<Instant>,
}

/// The CLI's observer: `command` names the lines it prints (`prep import: …`).
pub struct Cli {
    command: &'static str,
    show: Show,
    state: Mutex<State>,
}

impl Cli {
    pub fn observe(command: &'static str, show: Show) -> Observe {
        Observe(Arc::new(Cli {
            command,
            show,
            state: Mutex::new(State {
                bar: None,
                last_line: None,
            }),
        }))
    }
}

fn bar(total: Option<u64>) -> ProgressBar {
    match total {
        Some(total) => {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
                )
                .expect("valid template"),
            );
            b
        }
        None => {
            let b = ProgressBar::new_spinner();
            b.set_draw_target(ProgressDrawTarget::stderr());
            b
        }
    }
}

impl Observer for Cli {
    fn notice(&self, text: &str) {
        let state = self.state.lock().expect("not poisoned");
        match &state.bar {
            Some(b) => b.suspend(|| eprintln!("{}: {text}", self.command)),
            None => eprintln!("{}: {text}", self.command),
        }
    }

    fn begin(&self, total: Option<u64>, message: &str) {
        let mut state = self.state.lock().expect("not poisoned");
        if self.show == Show::Bar {
            let b = bar(total);
            b.set_message(message.to_string());
            state.bar = Some(b);
        }
        state.last_line = None;
    }

    fn advance(&self, done: u64, message: &str) {
        let mut state = self.state.lock().expect("not poisoned");
        match self.show {
            Show::Bar => {
                if let Some(b) = &state.bar {
                    b.inc(done);
                    b.set_message(message.to_string());
                }
            }
            Show::Lines(every) => {
                if state.last_line.is_none_or(|t| t.elapsed() >= every) {
                    eprintln!("{}: {message}", self.command);
                    state.last_line = Some(Instant::now());
                }
            }
            Show::Nothing => {}
        }
    }

    fn end(&self) {
        if let Some(b) = self.state.lock().expect("not poisoned").bar.take() {
            b.finish_and_clear();
        }
    }
}
