//! The commands as library calls: each takes its options, runs, and returns a report that the
//! command line renders (src/cli/).

pub mod convert;
pub mod embed;
pub mod import;
pub mod merge;
pub mod upload;
pub mod validate;
