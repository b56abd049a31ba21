//! What every module of operations uses, imported with `use super::prelude::*`: the
//! `#[OpenApi]` macro with its parameter and payload types, the contract's tags, paging,
//! errors and security scheme, and the [`Api`] the operations are served from.

pub(super) use poem_openapi::{
    OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
pub(super) use taskapi_api::{
    ApiTag,
    paging::{Cursor, PageLimit},
    problem::Errors,
    security::{BearerAuth, Scope},
};
pub(super) use uuid::Uuid;

pub(super) use super::{Api, page_of, page_request};
