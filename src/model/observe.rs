//! How the library tells its caller what is going on: progress and notices go to an
//! [`Observer`] the caller passes in (the CLI draws bars and prints lines; Python passes
//! nothing), as uv's `Reporter` and ripgrep's `Sink` do. The library itself never prints.

use std::fmt;
use std::sync::Arc;

/// What a long piece of work reports. Every method has a default that ignores it.
pub trait Observer: Send + Sync {
    /// Something the person running the command should know that is neither an error nor
    /// part of the report (a cleanup that failed and left objects behind).
    fn notice(&self, text: &str) {
        let _ = text;
    }

    /// Work of `total` bytes begins (`None`: an unknown amount, such as a wait on a service);
    /// `message` says what it is.
    fn begin(&self, total: Option<u64>, message: &str) {
        let _ = (total, message);
    }

    /// `done` more bytes of the work are done; `message` says where it stands.
    fn advance(&self, done: u64, message: &str) {
        let _ = (done, message);
    }

    /// The work has ended, finished or not.
    fn end(&self) {}
}

/// The observer that takes no notice.
pub(crate) struct Silent;

impl Observer for Silent {}

/// An observer as options carry it: shared, cloneable, `Silent` by default.
#[derive(Clone)]
pub struct Observe(pub Arc<dyn Observer>);

impl Default for Observe {
    fn default() -> Self {
        Observe(Arc::new(Silent))
    }
}

impl fmt::Debug for Observe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observe(..)")
    }
}

impl std::ops::Deref for Observe {
    type Target = dyn Observer;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}
