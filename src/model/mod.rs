//! The core layer: what every other layer may use and that uses nothing of theirs — DynamoDB
//! numbers, key schemas and key hashing, time formatting, the rule registry, byte appending, the
//! decoder panic fence and thread priorities.

pub(crate) mod bytes;
#[doc(hidden)]
pub mod guard;
pub mod keys;
pub mod manifest;
#[doc(hidden)]
pub mod number;
pub mod observe;
pub mod rules;
pub mod shard;
pub(crate) mod sys;
pub(crate) mod temporal;
pub(crate) mod threads;
