//! prep: get data ready for DynamoDB's Import from S3.
//!
//! The library behind the `prep` command: readers that turn CSV, Parquet and Arrow IPC into Arrow
//! record batches, a column plan that maps Arrow types to DynamoDB types, encoders that write
//! DynamoDB JSON (or Ion) straight from Arrow arrays while checking every import rule, and the
//! part/manifest writer. See README.md for the command-line view.
//!
//! The front door: [`commands`] (each command's options, report and run; [`commands::embed`]
//! for callers that hold Arrow batches), [`model`] (key schemas, rules, the observer, manifest
//! types, shards) and [`shape`] (computed attributes, map files), with the option types they
//! name from [`encoding`], [`input`], [`output`], [`aws`] and [`pipeline`]. Hidden modules are
//! internals that benches, fuzz targets and the reference tests drive directly; everything else
//! is private to the crate (ARCHITECTURE.md).

#![deny(unsafe_code)]
#![warn(unreachable_pub)]

pub mod aws;
pub mod commands;
pub mod encoding;
#[doc(hidden)]
pub mod hashing;
pub mod input;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod profile;
pub(crate) mod run;
pub mod shape;
#[cfg(test)]
pub(crate) mod testing;
