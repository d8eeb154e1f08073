//! Mail: reading messages from outside ([`parse`]) and syncing Gmail ([`gmail`]).

pub mod gmail;
pub mod parse;
