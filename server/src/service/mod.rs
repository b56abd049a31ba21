//! Business rules, one service per resource. Services take domain values, call the store
//! and return domain results or a typed error saying what went wrong in the domain.

pub mod auth;
pub mod tasks;
pub mod users;
