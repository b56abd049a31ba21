//! taskapi driven through its generated SDK against a real server and a real PostgreSQL,
//! one fresh database per test.

mod auth;
mod authorization;
mod contract;
mod cors;
mod documents;
mod errors;
mod health;
mod migrations;
mod pagination;
mod rate_limits;
mod schema;
mod tasks;
mod tokens;
mod unavailable;
mod users;
