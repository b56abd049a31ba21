//! Hand-written around the generated client: every item of a cursor-paginated listing, as
//! one [`Stream`].
//!
//! A listing answers one bounded page at a time with a `next_cursor`, `null` on the last
//! page. [`Listing::items`] turns a listing request, with its filters and order, into a
//! stream of its items that fetches the next page only when the items of the one before
//! have been taken, and ends after the last page. An error ends the stream after it is
//! yielded.
//!
//! ```no_run
//! # async fn example(client: taskapi_client::Client) -> Result<(), taskapi_client::problem::ApiError> {
//! use futures::TryStreamExt;
//! use taskapi_client::{pages::Listing, types::TaskStatus};
//!
//! let todo: Vec<_> = client.list_tasks().status(vec![TaskStatus::Todo]).items().try_collect().await?;
//! println!("{} tasks to do", todo.len());
//! # Ok(())
//! # }
//! ```

use std::future::Future;

use futures::{Stream, TryStreamExt, stream};

use crate::{Error, builder, types};

/// Every item of a listing whose pages `fetch` gets: called with `None` for the first page,
/// then with each page's `next_cursor` until one is `None`. Each call returns the page's
/// items and its `next_cursor`.
pub fn items<T, E, F, Fut>(mut fetch: F) -> impl Stream<Item = Result<T, E>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    // `None`: the last page has been fetched; `Some(cursor)`: the next page to fetch.
    stream::try_unfold(Some(None), move |next: Option<Option<String>>| {
        let page = next.map(|cursor| (cursor.clone(), fetch(cursor)));
        async move {
            let Some((cursor, page)) = page else {
                return Ok(None);
            };
            let (items, next_cursor) = page.await?;
            // A page that points back at itself would be fetched forever: it is the last.
            let next_cursor = next_cursor.filter(|next| cursor.as_ref() != Some(next));
            let items = stream::iter(items.into_iter().map(Ok));
            Ok(Some((items, next_cursor.map(Some))))
        }
    })
    .try_flatten()
}

/// A listing request of the generated client that pages with `cursor`.
pub trait Listing<'a> {
    /// What the listing lists.
    type Item;

    /// Every item of the listing, with the request's filters and order, page after page.
    fn items(self) -> impl Stream<Item = Result<Self::Item, Error<types::Problem>>> + 'a;
}

/// Each listing sends its request again with the cursor of the page before.
macro_rules! listing {
    ($($request:ident => $item:ty),+ $(,)?) => {$(
        impl<'a> Listing<'a> for builder::$request<'a> {
            type Item = $item;

            fn items(self) -> impl Stream<Item = Result<$item, Error<types::Problem>>> + 'a {
                items(move |cursor| {
                    let request = match cursor {
                        Some(cursor) => self.clone().cursor(cursor),
                        None => self.clone(),
                    };
                    async move {
                        let page = request.send().await?.into_inner();
                        Ok((page.items, page.next_cursor))
                    }
                })
            }
        }
    )+};
}

listing! {
    ListTasks => types::Task,
    ListLists => types::List,
    ListMembers => types::Member,
    ListInvitations => types::Invitation,
    ListTags => types::Tag,
    ListSessions => types::Session,
    AdminListUsers => types::Account,
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    #[test]
    fn pages_are_followed_to_the_last_and_an_error_ends_the_stream() {
        let mut asked = Vec::new();
        let all: Vec<Result<u32, String>> = block_on(
            items(|cursor: Option<String>| {
                asked.push(cursor.clone());
                let page = match cursor.as_deref() {
                    None => Ok((vec![1, 2], Some("b".to_owned()))),
                    Some("b") => Ok((vec![], Some("c".to_owned()))),
                    Some("c") => Ok((vec![3], None)),
                    Some(other) => Err(format!("no page {other}")),
                };
                async move { page }
            })
            .collect(),
        );
        assert_eq!(all, [Ok(1), Ok(2), Ok(3)]);
        assert_eq!(asked, [None, Some("b".to_owned()), Some("c".to_owned())]);

        let failing: Vec<Result<u32, String>> =
            block_on(items(|_| async { Err::<(Vec<u32>, _), _>("down".to_owned()) }).collect());
        assert_eq!(failing, [Err("down".to_owned())]);
    }
}
