//! The DynamoDB side of the model: numbers, key schemas, time formatting.

pub mod guard;
pub mod keys;
pub mod number;
pub mod rules;
pub mod temporal;
