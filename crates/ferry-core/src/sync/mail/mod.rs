//! Mail: reading messages from outside ([`parse`]).

pub mod parse;
