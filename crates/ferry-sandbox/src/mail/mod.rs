//! Mail as both providers hold it: generated mailboxes ([`generate`]) and stored
//! messages read back in a provider's shapes ([`letter`]), and the test controls that act
//! on mailboxes as another client would ([`control`]).

pub mod control;
pub mod generate;
pub mod letter;
