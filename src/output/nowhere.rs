//! The store of a dry run: every object is made (so parts are counted, sized and hashed as
//! they would be) and then dropped.

use super::store::{OutputStore, PartSink};
use std::io;

/// How messages name a dry run's output.
pub(super) const SHOWN: &str = "(dry run)";

#[derive(Debug)]
pub(crate) struct Nowhere;

struct Dropped;

impl PartSink for Dropped {
    fn write_all(&mut self, _data: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> io::Result<Option<String>> {
        Ok(None)
    }
}

impl OutputStore for Nowhere {
    fn display(&self, name: &str) -> String {
        format!("{SHOWN}/{name}")
    }
    fn create_part(&self, _name: &str) -> io::Result<Box<dyn PartSink>> {
        Ok(Box::new(Dropped))
    }
    fn put(&self, _name: &str, _body: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn discard(&self) {}
}
