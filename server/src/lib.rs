//! Everything behind the taskapi contract: configuration, the HTTP entry points, business
//! rules, credentials and persistence.
//!
//! A connection is accepted and bounded in [`transport`]; a request enters in [`http`], crosses one [`service`] and reaches the database through
//! [`store`]; [`domain`] holds the values that are valid by construction.

pub mod config;
pub mod dev_postgres;
pub mod domain;
pub mod failure;
pub mod http;
pub mod mail;
pub mod security;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod transport;
