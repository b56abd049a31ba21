//! Hand-written beside the generated client: one field of a JSON Merge Patch (RFC 7396).
//!
//! The generated merge-patch bodies (`types::TaskPatch`) hold each clearable field as
//! `Option<Option<T>>` (see `build.rs`). [`Patch`] says the same in words and converts into
//! it, so a builder takes it directly:
//!
//! ```
//! use taskapi_client::{patch::Patch, types};
//!
//! let clear_due_date = types::TaskPatch::builder().due_at(Patch::<chrono::DateTime<chrono::Utc>>::Clear);
//! let body: types::TaskPatch = clear_due_date.try_into().expect("valid");
//! assert_eq!(serde_json::to_string(&body).expect("JSON"), r#"{"due_at":null}"#);
//! ```

/// What a merge patch does to one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Leave the field as it is (the field is left out).
    #[default]
    Keep,
    /// Set the field to this value.
    Set(T),
    /// Clear the field (`null`).
    Clear,
}

impl<T, U: TryFrom<T>> TryFrom<Patch<T>> for Option<Option<U>> {
    type Error = U::Error;

    fn try_from(patch: Patch<T>) -> Result<Self, U::Error> {
        Ok(match patch {
            Patch::Keep => None,
            Patch::Set(value) => Some(Some(U::try_from(value)?)),
            Patch::Clear => Some(None),
        })
    }
}
