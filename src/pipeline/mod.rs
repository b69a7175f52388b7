//! An ordered parallel map: work items run on a rayon pool as soon as they are read, and their
//! results come back in input order. Unlike windows of `par_iter` (every window waits for its
//! slowest item), no worker idles while one item of a window is still being worked on.

#[doc(hidden)]
pub mod duplicates;
pub mod progress;
pub use crate::model::sys::use_one_malloc_heap;
pub use crate::model::threads::{lower_priority, BACKGROUND_NICE, CSV_READER_NICE, PRODUCER_NICE};

use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::channel;
use std::sync::Mutex;

/// A run's stop request, passed in with its options: its caller sets it (the command line's
/// Ctrl-C / SIGTERM handler; a library caller however it likes) and the run stops at its next
/// batch and removes what it wrote. Each run has its own, so a long-lived process (Python) can
/// stop one run and start the next.
#[derive(Clone, Debug, Default)]
pub struct Cancel(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Cancel {
    /// Ask the run to stop.
    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the run was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The error of a run stopped through its [`Cancel`].
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// The worker pool of a pipeline: `threads` producers at [`PRODUCER_NICE`].
pub fn producer_pool(threads: usize) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(|_| lower_priority(PRODUCER_NICE))
        .build()
}

/// Runs `work` over `items` on `pool` with at most `in_flight` items started but not yet handed
/// on, and hands each result to `sink` on the calling thread, in the order of `items`. Each task
/// borrows a per-worker state from a free list (made by `state` when none is free), so buffers
/// are reused instead of allocated per item. When `sink` returns false, no further item is
/// started and the remaining results are dropped.
pub fn ordered<T, R, S>(
    pool: &rayon::ThreadPool,
    items: impl Iterator<Item = T>,
    in_flight: usize,
    state: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, T) -> R + Sync,
    mut sink: impl FnMut(R) -> bool,
) where
    T: Send,
    R: Send,
    S: Send,
{
    let in_flight = in_flight.max(1) as u64;
    let free: Mutex<Vec<S>> = Mutex::new(Vec::new());
    let (tx, rx) = channel::<(u64, std::thread::Result<R>)>();
    pool.in_place_scope(|scope| {
        let mut started = 0u64;
        let mut handed = 0u64;
        let mut ready: BTreeMap<u64, std::thread::Result<R>> = BTreeMap::new();
        let mut open = true;
        // Wait for one result, then hand on whatever is next in order.
        let mut settle = |ready: &mut BTreeMap<u64, _>, handed: &mut u64, open: &mut bool| {
            let (k, r) = rx.recv().expect("every started task sends its result");
            ready.insert(k, r);
            while let Some(r) = ready.remove(handed) {
                *handed += 1;
                match r {
                    Ok(r) => {
                        if *open && !sink(r) {
                            *open = false;
                        }
                    }
                    Err(panic) => resume_unwind(panic),
                }
            }
        };
        for item in items {
            while started - handed >= in_flight && open {
                settle(&mut ready, &mut handed, &mut open);
            }
            if !open {
                break;
            }
            let (tx, free, state, work) = (tx.clone(), &free, &state, &work);
            let k = started;
            started += 1;
            scope.spawn(move |_| {
                let r = catch_unwind(AssertUnwindSafe(|| {
                    let mut s = free
                        .lock()
                        .ok()
                        .and_then(|mut f| f.pop())
                        .unwrap_or_else(state);
                    let r = work(&mut s, item);
                    if let Ok(mut f) = free.lock() {
                        f.push(s);
                    }
                    r
                }));
                // The receiver outlives the scope, so this cannot fail.
                let _ = tx.send((k, r));
            });
        }
        while handed < started {
            settle(&mut ready, &mut handed, &mut open);
        }
    });
}

/// The items of `items` up to its first error, which is left in `error`.
pub fn until_error<'a, T, E>(
    items: impl Iterator<Item = Result<T, E>> + 'a,
    error: &'a mut Option<E>,
) -> impl Iterator<Item = T> + 'a {
    items.map_while(move |r| match r {
        Ok(t) => Some(t),
        Err(e) => {
            *error = Some(e);
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    }

    #[test]
    fn results_come_in_input_order() {
        for threads in [1, 2, 4] {
            let mut got = Vec::new();
            ordered(
                &pool(threads),
                0..500u64,
                3,
                Vec::<u64>::new,
                |scratch, i| {
                    // Uneven work so that later items often finish first.
                    scratch.clear();
                    scratch.extend(0..(500 - i) * 50);
                    (i, scratch.iter().sum::<u64>())
                },
                |r| {
                    got.push(r);
                    true
                },
            );
            let want: Vec<(u64, u64)> = (0..500u64)
                .map(|i| (i, (0..(500 - i) * 50).sum()))
                .collect();
            assert_eq!(got, want, "{threads} threads");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn lower_priority_sets_the_calling_threads_nice_only() {
        use crate::model::sys::current_nice as nice;
        let before = nice();
        let inside = std::thread::spawn(|| {
            lower_priority(PRODUCER_NICE);
            nice()
        })
        .join()
        .unwrap();
        // A runner already nicer than that may keep its value (raising priority needs
        // privileges); from the usual nice 0 the thread must end at PRODUCER_NICE.
        assert!(
            inside == PRODUCER_NICE || inside == before.max(PRODUCER_NICE),
            "nice {inside}, started at {before}"
        );
        assert_eq!(nice(), before, "other threads keep their priority");
    }

    #[test]
    fn until_error_stops_at_the_first_error_and_keeps_it() {
        let mut err = None;
        let items = [Ok(1), Ok(2), Err("bad"), Ok(4)];
        let got: Vec<i32> = until_error(items.into_iter(), &mut err).collect();
        assert_eq!((got, err), (vec![1, 2], Some("bad")));
    }

    #[test]
    fn a_false_sink_stops_starting_items() {
        let started = std::sync::atomic::AtomicU64::new(0);
        let mut seen = 0;
        ordered(
            &pool(2),
            0..10_000u64,
            4,
            || (),
            |_, i| {
                started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                i
            },
            |i| {
                seen += 1;
                i < 9
            },
        );
        assert_eq!(seen, 10, "results after the stop are not handed on");
        assert!(
            started.into_inner() <= 10 + 4,
            "at most in_flight more are started"
        );
    }

    #[test]
    fn a_panicking_task_panics_the_caller_instead_of_hanging() {
        let r = std::panic::catch_unwind(|| {
            ordered(
                &pool(2),
                0..100u64,
                4,
                || (),
                |_, i| {
                    assert!(i != 42, "boom");
                    i
                },
                |_| true,
            )
        });
        assert!(r.is_err());
    }
}
