//! Collection reads: the query parameters, one page, and the stream over
//! every page. The stream follows the server's `Link: rel="next"` rather
//! than computing offsets, so it pages exactly as the server intends; and it
//! compares what it yielded with `X-Total-Count`, so a server that stops
//! early shows up as an error instead of a silently short roster.

use std::fmt;
use std::str::FromStr;

use futures_util::stream::{self, Stream, TryStreamExt};
use reqwest::Url;
use serde::de::DeserializeOwned;

use crate::Client;
use crate::error::Error;

/// `orderBy`: the direction of `sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

impl FromStr for Order {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            other => Err(format!("orderBy is asc or desc, not '{other}'")),
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The OneRoster list parameters; unset ones are not sent (server defaults apply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub sort: Option<String>,
    pub order_by: Option<Order>,
    pub filter: Option<String>,
    /// Comma-separated field names. Records then are partial: read them as
    /// `serde_json::Value` (the generic operations), not as typed models.
    pub fields: Option<String>,
    pub search: Option<String>,
}

impl ListParams {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    pub fn sort(mut self, field: impl Into<String>) -> Self {
        self.sort = Some(field.into());
        self
    }

    pub fn order_by(mut self, order: Order) -> Self {
        self.order_by = Some(order);
        self
    }

    /// A filter expression, e.g. `roles.role='teacher' AND familyName~'le'`.
    pub fn filter(mut self, expression: impl Into<String>) -> Self {
        self.filter = Some(expression.into());
        self
    }

    pub fn fields(mut self, fields: impl Into<String>) -> Self {
        self.fields = Some(fields.into());
        self
    }

    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }

    pub(crate) fn apply(&self, url: &mut Url) {
        let pairs = [
            ("limit", self.limit.map(|n| n.to_string())),
            ("offset", self.offset.map(|n| n.to_string())),
            ("sort", self.sort.clone()),
            ("orderBy", self.order_by.map(|o| o.as_str().to_owned())),
            ("filter", self.filter.clone()),
            ("fields", self.fields.clone()),
            ("search", self.search.clone()),
        ];
        let set: Vec<_> = pairs.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
        if !set.is_empty() {
            url.query_pairs_mut().extend_pairs(set);
        }
    }
}

/// One page of a collection.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Matching records in all pages (`X-Total-Count`, else the body's `totalCount`).
    pub total: Option<u64>,
    /// The next page (`Link: rel="next"`), re-anchored on the configured server.
    pub next: Option<Url>,
}

/// What the stream knows between pages.
struct Cursor {
    client: Client,
    key: String,
    next: Option<Url>,
    start: u64,
    seen: u64,
    total: Option<u64>,
}

impl Client {
    /// Every record from `first` on, page after page. `key` names the
    /// response's array; `start` is the first page's offset.
    pub(crate) fn pages<T>(
        &self,
        first: Url,
        key: &str,
        start: u64,
    ) -> impl Stream<Item = Result<T, Error>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        let cursor = Cursor {
            client: self.clone(),
            key: key.to_owned(),
            next: Some(first),
            start,
            seen: 0,
            total: None,
        };
        stream::try_unfold(cursor, |mut c| async move {
            let Some(url) = c.next.take() else {
                let expected = c.total.map(|t| t.saturating_sub(c.start));
                return match expected {
                    Some(expected) if c.seen < expected => Err(Error::Protocol(format!(
                        "the last page ended after {} of {expected} {}",
                        c.seen, c.key
                    ))),
                    _ => Ok(None),
                };
            };
            let page: Page<T> = c.client.page(url, &c.key).await?;
            if page.items.is_empty() && page.next.is_some() {
                return Err(Error::Protocol(format!(
                    "an empty page of {} links to a next one",
                    c.key
                )));
            }
            c.seen += page.items.len() as u64;
            // The smallest total seen: rows added while paging may rightly be
            // missed, rows removed while paging may rightly never come.
            c.total = match (c.total, page.total) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            c.next = page.next;
            Ok(Some((page.items, c)))
        })
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
    }
}

/// The URL of the `rel="next"` entry of an RFC 8288 `Link` header.
pub(crate) fn next_link(header: &str) -> Option<&str> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        rest = &rest[close + 1..];
        let params = &rest[..rest.find('<').unwrap_or(rest.len())];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.get(..4).is_some_and(|k| k.eq_ignore_ascii_case("rel="))
                && p[4..]
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_among_the_relations() {
        let h = "<http://h/users?limit=10&offset=0>; rel=\"first\", <http://h/users?limit=10&offset=20>; rel=\"next\", \
                 <http://h/users?limit=10&offset=30>; rel=\"last\"";
        assert_eq!(next_link(h), Some("http://h/users?limit=10&offset=20"));
        assert_eq!(next_link("<a>; rel=\"first\", <b>; rel=last"), None);
        assert_eq!(
            next_link("</p?x=1,2>; title=\"a, b\"; REL=\"prev next\""),
            Some("/p?x=1,2")
        );
    }

    #[test]
    fn params_are_sent_only_when_set() {
        let mut url = Url::parse("http://h/users").unwrap();
        ListParams::new()
            .limit(5)
            .filter("givenName='Ann & Bo'")
            .order_by(Order::Desc)
            .apply(&mut url);
        assert_eq!(
            url.query(),
            Some("limit=5&orderBy=desc&filter=givenName%3D%27Ann+%26+Bo%27")
        );
        let mut bare = Url::parse("http://h/users").unwrap();
        ListParams::new().apply(&mut bare);
        assert_eq!(bare.query(), None);
    }
}
