//! What the store already holds that the import needs: every record of a
//! collection a bulk file replaces (to find the ones the package lacks), and
//! otherwise just the records the package names or refers to.

use std::collections::{HashMap, HashSet};

use oneroster::ResourceDecl;
use oneroster::cursor::Cursor;
use oneroster::query::ListQuery;
use rollcall_store::{ResourceStore, StoreError};
use serde_json::Value;

use crate::read::Parsed;
use crate::refs;
use crate::spec::FileKind;

/// Records per read: large pages, keyset-positioned (no OFFSET scans).
const PAGE: u32 = 50_000;
/// Ids per `get_many` (below SQLite's bound-parameter limit).
const IDS_PER_READ: usize = 5_000;

/// A stored record, kept as JSON text: a parsed value takes several times
/// the memory, which matters when a bulk file replaces a million users.
#[derive(Debug)]
pub struct Stored {
    json: Box<str>,
    pub active: bool,
    /// The users' unique fields (see `unique::values`).
    pub uniques: crate::unique::Values,
}

impl Stored {
    fn new(doc: &Value) -> Self {
        Self {
            json: doc.to_string().into(),
            active: is_active(doc),
            uniques: crate::unique::values(doc),
        }
    }

    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).expect("a stored record is JSON")
    }
}

/// Stored records, by collection and sourcedId.
#[derive(Debug, Default)]
pub struct Existing {
    docs: HashMap<&'static str, HashMap<String, Stored>>,
    scanned: HashSet<&'static str>,
}

impl Existing {
    pub fn get(&self, kind: FileKind, id: &str) -> Option<&Stored> {
        self.docs.get(kind.decl().collection)?.get(id)
    }

    /// The stored record, parsed.
    pub fn value(&self, kind: FileKind, id: &str) -> Option<Value> {
        self.get(kind, id).map(Stored::value)
    }

    /// Every stored record of the collection (only complete when scanned).
    pub fn all(&self, kind: FileKind) -> impl Iterator<Item = (&String, &Stored)> {
        self.docs.get(kind.decl().collection).into_iter().flatten()
    }

    pub fn scanned(&self, kind: FileKind) -> bool {
        self.scanned.contains(kind.decl().collection)
    }
}

pub async fn load(store: &dyn ResourceStore, parsed: &Parsed) -> Result<Existing, StoreError> {
    let mut existing = Existing::default();
    for kind in FileKind::ALL
        .into_iter()
        .filter(|k| k.is_resource() && parsed.replaces(*k))
    {
        let decl = kind.decl();
        let mut docs = HashMap::new();
        for_each_page(store, decl, |page| {
            for doc in page {
                docs.insert(id_of(&doc).to_owned(), Stored::new(&doc));
            }
        })
        .await?;
        existing.docs.insert(decl.collection, docs);
        existing.scanned.insert(decl.collection);
    }
    for (kind, ids) in refs::wanted(parsed) {
        let decl = kind.decl();
        if existing.scanned.contains(decl.collection) {
            continue;
        }
        let ids: Vec<String> = ids.into_iter().collect();
        let docs = existing.docs.entry(decl.collection).or_default();
        for chunk in ids.chunks(IDS_PER_READ) {
            for doc in store.get_many(decl, chunk.to_vec()).await? {
                docs.insert(id_of(&doc).to_owned(), Stored::new(&doc));
            }
        }
    }
    Ok(existing)
}

/// Reads a whole collection in sourcedId order, one page at a time.
pub async fn for_each_page(
    store: &dyn ResourceStore,
    decl: &'static ResourceDecl,
    mut f: impl FnMut(Vec<Value>),
) -> Result<(), StoreError> {
    let mut after: Option<String> = None;
    loop {
        let query = ListQuery {
            limit: PAGE,
            offset: 0,
            sort: None,
            filter: None,
            search: None,
            fields: None,
            scope: Vec::new(),
            after: after.take().map(|id| Cursor {
                value: None,
                id,
                offset: 0,
                query: 0,
            }),
            fingerprint: 0,
        };
        let items = store.list(decl, &query).await?.items;
        let full = items.len() == PAGE as usize;
        after = items.last().map(|d| id_of(d).to_owned());
        f(items);
        if !full || after.is_none() {
            return Ok(());
        }
    }
}

pub fn id_of(doc: &Value) -> &str {
    doc.get("sourcedId").and_then(Value::as_str).unwrap_or_default()
}

pub use rollcall_service::rules::is_active;
