//! Page arithmetic and the RFC 8288 `Link` header.

use oneroster::query::ListQuery;

use crate::extract::QueryPairs;

/// TimeBack's body totals.
pub struct Totals {
    pub total: u64,
    pub page_count: u64,
    /// 1-based page holding `offset`.
    pub page_number: u64,
}

impl Totals {
    pub fn new(total: u64, offset: u64, limit: u32) -> Self {
        let limit = u64::from(limit);
        Self {
            total,
            page_count: total.div_ceil(limit),
            page_number: offset / limit + 1,
        }
    }
}

/// The parameters a page URL carries besides `limit`, `offset` and
/// `cursor`: the ones that shape the result. Each is validated and bounded
/// before a page is served (unknown ones, such as cache-busters, are not
/// copied), so the header stays a few tens of KiB at most.
const CARRIED: [&str; 4] = ["filter", "sort", "orderBy", "search"];

/// Longest cursor put in a `next` URL. A cursor holds the last row's sort
/// value, which a record may make as long as it likes; past this, `next`
/// pages by offset instead.
pub const MAX_CURSOR_BYTES: usize = 1024;

/// `<url>; rel="first"`, `last`, and where they exist `prev` and `next`;
/// each URL keeps the request's query (see [`CARRIED`] and `fields`).
/// `next` also carries the keyset `cursor`, so clients that follow it never
/// pay for OFFSET.
pub fn link_header(url: &str, pairs: &QueryPairs, query: &ListQuery, total: u64, cursor: Option<&str>) -> String {
    let limit = u64::from(query.limit);
    let last = total.saturating_sub(1) / limit * limit;
    let mut rels = vec![("first", 0)];
    if query.offset > 0 {
        rels.push(("prev", query.offset.saturating_sub(limit)));
    }
    if let Some(next) = query.next_offset().filter(|next| *next < total) {
        rels.push(("next", next));
    }
    rels.push(("last", last));
    let kept = carried(pairs, query);
    rels.into_iter()
        .map(|(rel, at)| {
            let cursor = cursor.filter(|_| rel == "next");
            format!("<{}>; rel=\"{rel}\"", page_url(url, &kept, at, query.limit, cursor))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The request's result-shaping parameters, with `fields` as one
/// comma-separated list however the client sent it.
fn carried<'a>(pairs: &'a QueryPairs, query: &ListQuery) -> Vec<(&'a str, String)> {
    let mut kept: Vec<(&str, String)> = pairs
        .iter()
        .filter(|(k, _)| CARRIED.contains(k))
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
    if let Some(fields) = &query.fields {
        kept.push(("fields", fields.join(",")));
    }
    kept
}

fn page_url(url: &str, kept: &[(&str, String)], offset: u64, limit: u32, cursor: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in kept {
        query.append_pair(k, v);
    }
    query.append_pair("limit", &limit.to_string());
    query.append_pair("offset", &offset.to_string());
    if let Some(cursor) = cursor {
        query.append_pair("cursor", cursor);
    }
    format!("{url}?{}", query.finish())
}

#[cfg(test)]
mod tests {
    use oneroster::filter::MAX_FILTER_BYTES;
    use oneroster::model::user::USERS;
    use oneroster::query::{MAX_LIMIT, MAX_OFFSET, MAX_SEARCH_BYTES};

    use super::*;

    fn pairs(p: &[(&str, &str)]) -> QueryPairs {
        QueryPairs(p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    fn link(p: &[(&str, &str)], total: u64, cursor: Option<&str>) -> String {
        let query = ListQuery::from_pairs(&USERS, p.iter().copied()).unwrap();
        link_header("http://h/users", &pairs(p), &query, total, cursor)
    }

    #[test]
    fn links_cover_first_prev_next_last() {
        let link = link(
            &[("filter", "status='active'"), ("offset", "10"), ("limit", "10")],
            35,
            Some("CUR"),
        );
        assert!(
            link.contains("<http://h/users?filter=status%3D%27active%27&limit=10&offset=0>; rel=\"first\""),
            "{link}"
        );
        assert!(link.contains("offset=0>; rel=\"prev\""));
        assert!(link.contains("offset=20&cursor=CUR>; rel=\"next\""));
        assert_eq!(
            link.matches("cursor").count(),
            1,
            "only next carries the cursor: {link}"
        );
        assert!(link.contains("offset=30>; rel=\"last\""));
    }

    #[test]
    fn no_next_on_the_last_page() {
        let link = link(&[("offset", "30"), ("limit", "10")], 35, None);
        assert!(!link.contains("next"));
        let t = Totals::new(35, 30, 10);
        assert_eq!((t.page_count, t.page_number), (4, 4));
    }

    #[test]
    fn no_next_past_the_largest_offset() {
        let max = MAX_OFFSET.to_string();
        let link = link(&[("offset", &max), ("limit", "3000")], u64::MAX, None);
        assert!(!link.contains("next"), "{link}");
        assert!(
            link.contains(&format!("offset={}>; rel=\"prev\"", MAX_OFFSET - 3000)),
            "{link}"
        );
    }

    #[test]
    fn only_result_shaping_parameters_are_carried_with_fields_as_one_list() {
        let link = link(
            &[
                ("_", "123"),
                ("fields", "sourcedId"),
                ("fields", "email"),
                ("sort", "email"),
            ],
            5,
            None,
        );
        assert!(!link.contains("_="), "{link}");
        assert!(link.contains("sort=email&fields=sourcedId%2Cemail&limit"), "{link}");
    }

    /// The longest query a page accepts still gives a `Link` header common
    /// clients read (Python's http.client stops at 64 KiB a line).
    #[test]
    fn the_largest_accepted_query_gives_a_bounded_header() {
        let filter = format!("givenName='{}'", "&".repeat(MAX_FILTER_BYTES - "givenName=''".len()));
        let search = "\"".repeat(MAX_SEARCH_BYTES);
        let fields = USERS.selectable.join(",");
        let limit = MAX_LIMIT.to_string();
        let p = [
            ("filter", filter.as_str()),
            ("search", search.as_str()),
            ("fields", fields.as_str()),
            ("sort", "familyName"),
            ("orderBy", "desc"),
            ("limit", limit.as_str()),
            ("offset", "3000"),
        ];
        let cursor = "c".repeat(MAX_CURSOR_BYTES);
        let link = link(&p, MAX_OFFSET, Some(&cursor));
        assert!(link.len() < 64 * 1024, "{} bytes", link.len());
    }
}
