//! taskapi driven through its generated SDK against a real server and a real PostgreSQL,
//! one fresh database per test.

mod access_tokens;
mod accounts;
mod admin;
mod audit;
mod auth;
mod authorization;
mod conditional;
mod contract;
mod cors;
mod documents;
mod errors;
mod events;
mod health;
mod idempotency;
mod listing;
mod lists;
mod migrations;
mod pagination;
mod patch;
mod rate_limits;
mod recovery;
mod retries;
mod revocation;
mod schema;
mod sessions;
mod signing_keys;
mod sync;
mod tags;
mod taskctl;
mod tasks;
mod tokens;
mod unavailable;
mod users;
