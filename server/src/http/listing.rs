//! A task listing's query parameters as the domain's listing: each parameter checked
//! against the schema it publishes, then read as filters, an order and a page.

use chrono::{DateTime, Utc};
use poem_openapi::types::ToJSON;
use serde_json::Value;
use taskapi_api::{
    paging::{Cursor, PageLimit},
    tasks::{MAX_TAGS_PER_TASK, SearchText, TagName, TaskPriority, TaskSort, TaskStatus},
};
use uuid::Uuid;

use super::{body::Bodies, cursor_text, page_size};
use crate::domain::{
    self, Assignee, FieldErrors, ListId, SearchTerms, TagKey, TaskCursor, TaskFilter, TaskListing,
    TaskOrder, within_four_digit_years,
};

/// What a task listing asks for: which tasks (every filter given must hold), in which
/// order, and which page.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub limit: PageLimit,
    pub cursor: Option<Cursor>,
    pub sort: TaskSort,
    pub status: Vec<TaskStatus>,
    pub priority: Vec<TaskPriority>,
    pub tag: Vec<TagName>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub overdue: Option<bool>,
    pub has_due: Option<bool>,
    pub updated_since: Option<DateTime<Utc>>,
    pub q: Option<SearchText>,
    pub list_id: Option<Uuid>,
    pub assignee: Option<String>,
}

/// The order a sort names: its name on the wire is the domain's name of the order.
impl From<TaskSort> for TaskOrder {
    fn from(sort: TaskSort) -> Self {
        sort.to_json()
            .as_ref()
            .and_then(Value::as_str)
            .and_then(TaskOrder::parse)
            // Every sort names an order: `every_sort_is_an_order_of_the_same_name` reads each.
            .expect("a sort names an order")
    }
}

/// The listing `query` asks for; every invalid parameter is named.
pub fn task_listing(bodies: &Bodies, query: TaskQuery) -> Result<TaskListing, FieldErrors> {
    let mut errors = FieldErrors::default();
    let size = errors.check("limit", page_size(query.limit));
    let tags = tag_keys(bodies, &mut errors, &query.tag);
    let mut time = |field: &str, at| {
        errors
            .check_optional(field, at, within_four_digit_years)
            .flatten()
    };
    let due_before = time("due_before", query.due_before);
    let due_after = time("due_after", query.due_after);
    let updated_since = time("updated_since", query.updated_since);
    let search = query
        .q
        .filter(|q| bodies.parameter(&mut errors, "q", q))
        .and_then(|q| errors.check("q", SearchTerms::parse(q.as_str())));
    let assignee = errors
        .check_optional("assignee", query.assignee, |raw| Assignee::parse(&raw))
        .flatten();
    let filter = TaskFilter {
        list: query.list_id.map(ListId),
        assignee,
        statuses: query.status.into_iter().map(Into::into).collect(),
        priorities: query.priority.into_iter().map(Into::into).collect(),
        tags,
        due_before,
        due_after,
        overdue: query.overdue,
        has_due: query.has_due,
        updated_since,
        search,
    };
    let order = TaskOrder::from(query.sort);
    // Checked last: a cursor is only compared with a filter that is valid.
    let after = if errors.is_empty() {
        errors
            .check_optional("cursor", query.cursor, |cursor| {
                TaskCursor::decode(cursor_text(&cursor)?, order, &filter)
            })
            .flatten()
            .map(|cursor| cursor.position)
    } else {
        None
    };
    match size {
        Some(size) if errors.is_empty() => Ok(TaskListing {
            filter,
            order,
            size,
            after,
        }),
        _ => Err(errors),
    }
}

/// The keys of the tags a listing filters by, each once, in order; no more than a task
/// can carry.
fn tag_keys(bodies: &Bodies, errors: &mut FieldErrors, names: &Vec<TagName>) -> Vec<TagKey> {
    if !bodies.parameter(errors, "tag", names) {
        return Vec::new();
    }
    let mut keys: Vec<TagKey> = names
        .iter()
        .filter_map(|name| errors.check("tag", domain::TagName::parse(name.as_str())))
        .map(|name| name.key())
        .collect();
    keys.sort();
    keys.dedup();
    if keys.len() > MAX_TAGS_PER_TASK {
        errors.add(
            "tag",
            format!("must name at most {MAX_TAGS_PER_TASK} tags (no task has more)"),
        );
    }
    keys
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use chrono::{DateTime, Utc};
    use strum::VariantArray;
    use taskapi_api::{
        paging::Cursor,
        tasks::{SearchText, TaskStatus},
    };
    use uuid::Uuid;

    use super::*;
    use crate::domain::{CursorText, PageCursor, SortValue, TaskPosition};

    fn bodies() -> Bodies {
        let document: Value =
            serde_json::from_str(&crate::http::spec_json()).expect("the spec is JSON");
        Bodies::from_spec(&document)
    }

    fn listing(query: TaskQuery) -> Result<TaskListing, FieldErrors> {
        task_listing(&bodies(), query)
    }

    fn position(value: SortValue) -> TaskPosition {
        TaskPosition {
            value,
            id: Uuid::now_v7(),
        }
    }

    fn cursor_for(query: &TaskQuery, position: TaskPosition) -> String {
        let listing = listing(query.clone()).expect("a valid query");
        listing.cursor_at(position).encode()
    }

    fn with_cursor(query: &TaskQuery, cursor: String) -> TaskQuery {
        TaskQuery {
            cursor: Some(Cursor::new(cursor)),
            ..query.clone()
        }
    }

    #[test]
    fn every_sort_is_an_order_of_the_same_name() {
        for &sort in TaskSort::VARIANTS {
            let name = sort.to_json().expect("a name");
            assert_eq!(
                Value::String(TaskOrder::from(sort).name()),
                name,
                "{sort:?}"
            );
        }
        assert_eq!(TaskOrder::from(TaskSort::default()), TaskOrder::DEFAULT);
    }

    #[test]
    fn tags_and_searches_are_checked_as_their_schemas_state() {
        let refused = |query: TaskQuery| listing(query).expect_err("refused").into_inner();
        let tags = |names: &[&str]| names.iter().map(|name| TagName::new(*name)).collect();
        let errors = refused(TaskQuery {
            tag: tags(&["ok", "two\tparts", &"t".repeat(51), "  "]),
            ..TaskQuery::default()
        });
        assert_eq!(
            errors["tag"],
            [
                "must not contain control characters (found U+0009)",
                "must be at most 50 characters",
                // The schema's pattern says it, as the domain does once the name is trimmed.
                "must not be empty",
            ]
        );
        let blank = refused(TaskQuery {
            tag: tags(&["  "]),
            ..TaskQuery::default()
        });
        assert_eq!(blank["tag"], ["must not be empty"]);
        let many: Vec<String> = (0..=MAX_TAGS_PER_TASK).map(|i| format!("t{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let errors = refused(TaskQuery {
            tag: tags(&many),
            ..TaskQuery::default()
        });
        assert_eq!(
            errors["tag"],
            ["must name at most 20 tags (no task has more)"]
        );
        // Repeats count once.
        let repeated = [&many[..MAX_TAGS_PER_TASK], &["T0", "t1"]].concat();
        assert!(
            listing(TaskQuery {
                tag: tags(&repeated),
                ..TaskQuery::default()
            })
            .is_ok()
        );
        for (q, why) in [
            (
                "bell\u{7}",
                "must not contain control characters (found U+0007)",
            ),
            (&"0".repeat(201), "must be at most 200 characters"),
            (" !?& ", "must contain a letter or a digit"),
        ] {
            let errors = refused(TaskQuery {
                q: Some(SearchText::new(q)),
                ..TaskQuery::default()
            });
            assert_eq!(errors["q"], [why], "{q:?}");
        }
    }

    #[test]
    fn cursors_of_every_order_round_trip() {
        let at = DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("valid");
        for (sort, value) in [
            (TaskSort::CreatedAt, SortValue::Time(at)),
            (TaskSort::UpdatedAtReversed, SortValue::Time(at)),
            (TaskSort::DueAt, SortValue::Due(Some(at))),
            (TaskSort::DueAtReversed, SortValue::Due(None)),
            (
                TaskSort::Priority,
                SortValue::Priority(domain::TaskPriority::Urgent),
            ),
            (
                TaskSort::Title,
                SortValue::Title("Dots. In. Title.".to_owned()),
            ),
        ] {
            let query = TaskQuery {
                sort,
                ..TaskQuery::default()
            };
            let expected = position(value);
            let next = with_cursor(&query, cursor_for(&query, expected.clone()));
            assert_eq!(
                listing(next).expect("accepted").after,
                Some(expected),
                "{sort:?}"
            );
        }
    }

    #[test]
    fn a_cursor_is_refused_with_another_sort_or_other_filters() {
        let query = TaskQuery {
            status: vec![TaskStatus::Todo, TaskStatus::Done],
            tag: vec![TagName::new("Work")],
            ..TaskQuery::default()
        };
        let cursor = cursor_for(&query, position(SortValue::Time(Utc::now())));
        // The same filter written differently is the same listing.
        let same = TaskQuery {
            status: vec![TaskStatus::Done, TaskStatus::Todo, TaskStatus::Done],
            tag: vec![TagName::new("work")],
            ..query.clone()
        };
        assert!(listing(with_cursor(&same, cursor.clone())).is_ok());
        for other in [
            TaskQuery {
                sort: TaskSort::CreatedAtReversed,
                ..query.clone()
            },
            TaskQuery {
                status: vec![TaskStatus::Todo],
                ..query.clone()
            },
            TaskQuery {
                overdue: Some(true),
                ..query.clone()
            },
        ] {
            let refused = listing(with_cursor(&other, cursor.clone())).expect_err("refused");
            assert!(refused.into_inner().contains_key("cursor"));
        }
    }

    #[test]
    fn cursors_from_before_filters_still_work_for_the_default_listing() {
        let legacy = PageCursor {
            created_at: Utc::now(),
            id: Uuid::now_v7(),
        }
        .encode();
        let plain = TaskQuery::default();
        assert!(listing(with_cursor(&plain, legacy.clone())).is_ok());
        let sorted = TaskQuery {
            sort: TaskSort::Title,
            ..TaskQuery::default()
        };
        assert!(listing(with_cursor(&sorted, legacy)).is_err());
    }

    #[test]
    fn garbage_cursors_are_refused() {
        let plain = TaskQuery::default();
        for garbage in [
            "!!!".to_owned(),
            URL_SAFE_NO_PAD.encode("t1.created_at.x.y.z"),
            URL_SAFE_NO_PAD.encode("t1.created_at"),
        ] {
            assert!(
                listing(with_cursor(&plain, garbage.clone())).is_err(),
                "{garbage}"
            );
        }
    }
}
