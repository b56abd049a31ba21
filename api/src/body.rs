//! Request bodies the contract declares and the server decodes.
//!
//! An operation declares its body as [`JsonBody<T>`] or [`FormBody<T>`]: the spec shows the
//! media type and `T`'s schema, exactly as poem-openapi's `Json<T>` and `Form<T>` would,
//! but the bytes reach the backend undecoded. The server decodes them after the caller is
//! authenticated, so that a refused body can name every invalid field at once.

use std::marker::PhantomData;

use bytes::Bytes;
use poem::{FromRequest, Request, RequestBody, Result};
use poem_openapi::{
    impl_apirequest_for_payload,
    payload::{Form, Json, ParsePayload, Payload},
    registry::{MetaSchemaRef, Registry},
};

/// The bytes of a request body declared as the payload `P`.
#[derive(Debug, Clone)]
pub struct Undecoded<P> {
    pub bytes: Bytes,
    payload: PhantomData<P>,
}

/// A JSON object of type `T` (`application/json`, or any `application/*+json`).
pub type JsonBody<T> = Undecoded<Json<T>>;

/// An `application/x-www-form-urlencoded` form of type `T`.
pub type FormBody<T> = Undecoded<Form<T>>;

impl<P> Undecoded<P> {
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self {
            bytes: bytes.into(),
            payload: PhantomData,
        }
    }
}

impl<P: Payload> Payload for Undecoded<P> {
    const CONTENT_TYPE: &'static str = P::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        P::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        P::schema_ref()
    }

    fn register(registry: &mut Registry) {
        P::register(registry);
    }
}

impl<P: Payload> ParsePayload for Undecoded<P> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        Ok(Self::new(Bytes::from_request(request, body).await?))
    }
}

impl_apirequest_for_payload!(Undecoded<P>, P: Payload);
