//! `GET …/capabilities`: what each collection can be queried with, so a
//! client can discover the query language's reach and limits instead of
//! learning them from 400s.

use axum::Json;
use axum::extract::State;
use oneroster::ResourceDecl;
use oneroster::extension::{ExtensionField, ExtensionSet};
use oneroster::filter::{MAX_DEPTH, MAX_FILTER_BYTES, MAX_PREDICATES, Op};
use oneroster::query::{DEFAULT_LIMIT, MAX_LIMIT, MAX_SEARCH_BYTES};
use oneroster::resource::{self, VIEWS};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// With the declared extension fields as this instance holds them.
pub async fn capabilities(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let set = state.rollcall.engine.extensions().current().await?;
    Ok(Json(document(&set)))
}

pub fn document(extensions: &ExtensionSet) -> Value {
    let mut collections = Map::new();
    for decl in resource::all() {
        collections.insert(decl.collection.to_owned(), describe(decl, extensions));
    }
    for view in VIEWS {
        let mut d = describe(view.base, extensions);
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

/// A collection's reach; declared extension fields filter and sort like
/// its own, and are also described under `extensionFields`.
fn describe(decl: &ResourceDecl, extensions: &ExtensionSet) -> Value {
    let declared: Vec<&ExtensionField> = extensions.of(decl.collection).collect();
    let paths = declared.iter().map(|f| f.path());
    let mut filterable: Vec<String> = decl.field_names().into_iter().map(str::to_owned).collect();
    filterable.extend(paths.clone());
    let mut sortable: Vec<String> = decl
        .fields
        .iter()
        .filter(|f| ResourceDecl::is_sortable(f))
        .map(|f| f.name.to_owned())
        .collect();
    sortable.extend(paths);
    json!({
        "filterable": filterable,
        // Any key below `metadata` (see `query::METADATA`): compared as text, not indexed.
        "filterableOpen": ["metadata.<key>"],
        "sortable": sortable,
        "extensionFields": declared,
        "aliases": decl.aliases.iter().map(|(a, f)| (a.to_string(), Value::from(*f))).collect::<Map<_, _>>(),
        "selectable": decl.selectable,
        "search": decl.search,
    })
}
