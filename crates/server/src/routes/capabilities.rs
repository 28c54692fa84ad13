//! `GET …/capabilities`: what each collection can be queried with, so a
//! client can discover the query language's reach and limits instead of
//! learning them from 400s.

use axum::Json;
use oneroster::ResourceDecl;
use oneroster::filter::{MAX_DEPTH, MAX_FILTER_BYTES, MAX_PREDICATES, Op};
use oneroster::query::{DEFAULT_LIMIT, MAX_LIMIT, MAX_SEARCH_BYTES};
use oneroster::resource::{self, VIEWS};
use serde_json::{Map, Value, json};

pub async fn capabilities() -> Json<Value> {
    Json(document())
}

pub fn document() -> Value {
    let mut collections = Map::new();
    for decl in resource::all() {
        collections.insert(decl.collection.to_owned(), describe(decl));
    }
    for view in VIEWS {
        let mut d = describe(view.base);
        d["viewOf"] = json!({ "collection": view.base.collection, "where": { view.field: view.value } });
        collections.insert(view.path.to_owned(), d);
    }
    json!({
        "operators": Op::ALL.iter().map(|op| op.symbol()).collect::<Vec<_>>(),
        "logical": ["AND", "OR", "(", ")"],
        "limits": {
            "defaultPageSize": DEFAULT_LIMIT,
            "maxPageSize": MAX_LIMIT,
            "maxFilterBytes": MAX_FILTER_BYTES,
            "maxPredicates": MAX_PREDICATES,
            "maxNestingDepth": MAX_DEPTH,
            "maxSearchBytes": MAX_SEARCH_BYTES,
        },
        "collections": collections,
    })
}

fn describe(decl: &ResourceDecl) -> Value {
    json!({
        "filterable": decl.field_names(),
        // Any key below `metadata` (see `query::METADATA`): compared as text, not indexed.
        "filterableOpen": ["metadata.<key>"],
        "sortable": decl.fields.iter().filter(|f| ResourceDecl::is_sortable(f)).map(|f| f.name).collect::<Vec<_>>(),
        "aliases": decl.aliases.iter().map(|(a, f)| (a.to_string(), Value::from(*f))).collect::<Map<_, _>>(),
        "selectable": decl.selectable,
        "search": decl.search,
    })
}
