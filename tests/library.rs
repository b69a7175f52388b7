//! The library as a caller uses it: options in, a report out, and what happens meanwhile told
//! to the observer the caller passes (the library itself never prints: tests/architecture.rs).

mod common;

use common::*;
use prep::commands::{convert, embed};
use prep::model::keys::{KeyAttr, KeySchema};
use prep::model::observe::{Observe, Observer};
use prep::output::Destination;
use std::sync::{Arc, Mutex};

/// A table keyed by a number `id`.
fn id_key() -> KeySchema {
    KeySchema {
        table_name: None,
        partition: KeyAttr::parse("id:N").unwrap(),
        sort: None,
        gsis: Vec::new(),
        vectors: Default::default(),
    }
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
    advanced: Mutex<u64>,
}

impl Observer for Recorder {
    fn notice(&self, text: &str) {
        self.events.lock().unwrap().push(format!("notice {text}"));
    }
    fn begin(&self, total: Option<u64>, message: &str) {
        self.events
            .lock()
            .unwrap()
            .push(format!("begin {total:?} {message}"));
    }
    fn advance(&self, done: u64, message: &str) {
        *self.advanced.lock().unwrap() += done;
        self.events
            .lock()
            .unwrap()
            .push(format!("advance {message}"));
    }
    fn end(&self) {
        self.events.lock().unwrap().push("end".into());
    }
}

/// A conversion tells its observer the bytes it will read, each batch's bytes and rows, and
/// its end; with a silent observer (the default) it tells no one.
#[test]
fn a_conversion_reports_its_progress_to_the_callers_observer() {
    let d = tmp();
    let mut body = String::from("id,name\n");
    for i in 0..20_000 {
        body.push_str(&format!("{i},name {i}\n"));
    }
    let input = write(d.path(), "in.csv", &body);
    let keys = id_key();
    let recorder = Arc::new(Recorder::default());
    let mut opts = embed::default_options(keys, Destination::Folder(d.path().join("out")));
    opts.inputs = vec![input.clone()];
    opts.read.batch_rows = 4096;
    opts.observer = Observe(recorder.clone());
    let report = convert::run(&opts).unwrap();
    assert_eq!(report.items_written, 20_000);
    let events = recorder.events.lock().unwrap().clone();
    let size = std::fs::metadata(&input).unwrap().len();
    assert_eq!(
        events.first().unwrap(),
        &format!("begin Some({size}) converting")
    );
    assert_eq!(events.last().unwrap(), "end");
    assert!(
        events.iter().any(|e| e == "advance 20,000 rows"),
        "{events:?}"
    );
    assert!(events.len() >= 2 + 5, "one advance per batch: {events:?}");
    assert!(!events.iter().any(|e| e.starts_with("notice")));
    // The default observer is silent, and the run the same.
    let mut quiet = embed::default_options(
        opts.keys.clone(),
        Destination::Folder(d.path().join("out2")),
    );
    quiet.inputs = vec![input];
    assert_eq!(convert::run(&quiet).unwrap().items_written, 20_000);
}

/// A run stops when its caller cancels it (each run has its own token: a long-lived process can
/// stop one and start the next), leaving nothing behind; the next run converts.
#[test]
fn a_cancelled_conversion_stops_and_leaves_nothing() {
    let d = tmp();
    let mut body = String::from("id\n");
    for i in 0..50_000 {
        body.push_str(&format!("{i}\n"));
    }
    let input = write(d.path(), "in.csv", &body);
    let keys = id_key();
    let out = d.path().join("out");
    let mut opts = embed::default_options(keys, Destination::Folder(out.clone()));
    opts.inputs = vec![input];
    opts.read.batch_rows = 1000;
    opts.cancel.cancel();
    let e = convert::run(&opts).unwrap_err();
    assert!(
        e.downcast_ref::<prep::pipeline::Interrupted>().is_some(),
        "{e:#}"
    );
    assert!(!out.join("manifest-summary.json").exists());
    let parts = std::fs::read_dir(out.join("data")).map_or(0, |d| d.count());
    assert_eq!(parts, 0);
    opts.cancel = Default::default();
    opts.force = true;
    assert_eq!(convert::run(&opts).unwrap().items_written, 50_000);
}
