//! JSON responses written by serde straight from the value.
//!
//! poem-openapi's `Json<T>` turns `T` into a `serde_json::Value` tree (a map and a string
//! per field) and then writes the tree: for a page of tasks that was a fifth of the
//! server's CPU time per request (BENCHMARKS.md). [`Serialized<T>`] declares the same media
//! type and `T`'s schema, and writes `T` with its `serde::Serialize`, which the hot
//! response types derive to match their `ToJSON` exactly (tested below).

use chrono::{DateTime, Utc};
use poem::{IntoResponse, Response, http::header};
use poem_openapi::{
    ApiResponse,
    payload::{Json, Payload},
    registry::{MetaResponses, MetaSchemaRef, Registry},
    types::{ToJSON, Type},
};
use serde::{Serialize, Serializer};

use crate::problem::ApiError;

/// A JSON response body of type `T`, declared as poem-openapi's `Json<T>` is.
#[derive(Debug, Clone)]
pub struct Serialized<T>(pub T);

impl<T: Type> Payload for Serialized<T> {
    const CONTENT_TYPE: &'static str = Json::<T>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        Json::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        Json::<T>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as Payload>::register(registry);
    }
}

impl<T: Type + Serialize + Send> IntoResponse for Serialized<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder()
                .header(header::CONTENT_TYPE, Self::CONTENT_TYPE)
                .body(body),
            // The response types hold no maps with non-string keys: this cannot happen.
            Err(_) => ApiError::internal().into_response(),
        }
    }
}

impl<T: Type + ToJSON + Serialize + Send> ApiResponse for Serialized<T> {
    fn meta() -> MetaResponses {
        <Json<T> as ApiResponse>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as ApiResponse>::register(registry);
    }
}

/// A timestamp as poem-openapi writes one (`DateTime::to_rfc3339`).
pub(crate) fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339())
}

/// An optional timestamp as poem-openapi writes one: `null` when absent.
pub(crate) fn rfc3339_or_null<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// An enum value by its wire name (its `IntoStaticStr`, which the contract's `Enum` uses).
pub(crate) fn wire_name<S, T>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    T: Copy + Into<&'static str>,
{
    serializer.serialize_str((*value).into())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use poem_openapi::types::Example;
    use uuid::Uuid;

    use super::*;
    use crate::{
        tasks::{Task, TaskPage, TaskPriority, TaskStatus},
        users::{Role, User},
    };

    /// What serde writes is what poem-openapi's `ToJSON` would have written.
    fn same_document<T: Serialize + ToJSON>(value: &T) {
        let serialized = serde_json::to_value(value).expect("serializes");
        assert_eq!(Some(serialized), value.to_json());
    }

    #[test]
    fn tasks_pages_and_users_serialize_as_their_contract_types() {
        let bare = Task {
            id: Uuid::now_v7(),
            list_id: Uuid::now_v7(),
            assignee_id: Some(Uuid::now_v7()),
            title: "Fix the \"quoted\" tap\n".to_owned(),
            description: None,
            status: TaskStatus::Done,
            priority: TaskPriority::Urgent,
            due_at: None,
            completed_at: Some(Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap()),
            tags: Vec::new(),
            created_at: Utc.timestamp_opt(0, 0).unwrap(),
            updated_at: Utc::now(),
        };
        for task in [Task::example(), bare.clone()] {
            same_document(&task);
        }
        same_document(&TaskPage {
            items: vec![Task::example(), bare],
            next_cursor: Some("t1.abc".to_owned()),
        });
        same_document(&TaskPage {
            items: Vec::new(),
            next_cursor: None,
        });
        for role in [Role::User, Role::Admin] {
            same_document(&User {
                role,
                ..User::example()
            });
        }
    }
}
