//! Page arithmetic and the RFC 8288 `Link` header.

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

/// `<url>; rel="first"`, `last`, and where they exist `prev` and `next`;
/// each URL keeps the request's other parameters. `next` also carries the
/// keyset `cursor`, so clients that follow it never pay for OFFSET.
pub fn link_header(url: &str, pairs: &QueryPairs, offset: u64, limit: u32, total: u64, cursor: Option<&str>) -> String {
    let limit64 = u64::from(limit);
    let last = if total == 0 { 0 } else { (total - 1) / limit64 * limit64 };
    let mut rels = vec![("first", 0)];
    if offset > 0 {
        rels.push(("prev", offset.saturating_sub(limit64)));
    }
    if offset + limit64 < total {
        rels.push(("next", offset + limit64));
    }
    rels.push(("last", last));
    rels.into_iter()
        .map(|(rel, at)| {
            let cursor = cursor.filter(|_| rel == "next");
            format!("<{}>; rel=\"{rel}\"", page_url(url, pairs, at, limit, cursor))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn page_url(url: &str, pairs: &QueryPairs, offset: u64, limit: u32, cursor: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs
        .iter()
        .filter(|(k, _)| !matches!(*k, "limit" | "offset" | "cursor"))
    {
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
    use super::*;

    #[test]
    fn links_cover_first_prev_next_last() {
        let pairs = QueryPairs(vec![
            ("filter".into(), "status='active'".into()),
            ("offset".into(), "10".into()),
        ]);
        let link = link_header("http://h/users", &pairs, 10, 10, 35, Some("CUR"));
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
        let link = link_header("http://h/users", &QueryPairs(vec![]), 30, 10, 35, None);
        assert!(!link.contains("next"));
        let t = Totals::new(35, 30, 10);
        assert_eq!((t.page_count, t.page_number), (4, 4));
    }
}
