//! The core layer: what every other layer may use and that uses nothing of theirs — DynamoDB
//! numbers, key schemas and key hashing, time formatting, the rule registry, byte appending, the
//! decoder panic fence and thread priorities.

pub mod bytes;
pub mod guard;
pub mod keys;
pub mod manifest;
pub mod number;
pub mod observe;
pub mod rules;
pub mod shard;
pub mod sys;
pub mod temporal;
pub mod threads;
