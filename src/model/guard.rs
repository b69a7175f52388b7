//! A fence around third-party decoders that read untrusted bytes (arrow's IPC reader, parquet,
//! ion-rs). Some of them panic on damaged input rather than return an error (an Arrow IPC file
//! with a changed buffer length, found by hand; ion-rs symbol IDs, found by fuzzing); inside the
//! fence such a panic becomes an error about the input, and the panic hook installed by
//! [`quiet_panics_in_decoders`] keeps it off the terminal.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    /// How many [`decoding`] calls this thread is inside.
    static INSIDE: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f`; a panic inside it comes back as `Err` with the panic's message.
pub fn decoding<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    INSIDE.with(|d| d.set(d.get() + 1));
    let r = catch_unwind(AssertUnwindSafe(f));
    INSIDE.with(|d| d.set(d.get() - 1));
    r.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into())
    })
}

/// Installs a panic hook that stays silent for panics inside [`decoding`] (they are reported
/// as errors about the input) and prints every other one as before.
pub fn quiet_panics_in_decoders() {
    let before = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if INSIDE.with(|d| d.get()) == 0 {
            before(info)
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors_and_the_count_unwinds() {
        assert_eq!(decoding(|| 7), Ok(7));
        let e = decoding(|| -> u8 { panic!("bad {}", 1) }).unwrap_err();
        assert_eq!(e, "bad 1");
        let e = decoding(|| -> u8 { std::panic::panic_any(3u8) }).unwrap_err();
        assert_eq!(e, "no message");
        assert_eq!(INSIDE.with(|d| d.get()), 0);
    }
}
