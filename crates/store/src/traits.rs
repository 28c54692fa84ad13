//! The storage traits, split by capability.

use async_trait::async_trait;
use oneroster::query::ListQuery;
use oneroster::resource::ModelError;
use oneroster::{FieldDecl, ResourceDecl};
use serde_json::Value;

use crate::{ChangeStore, CredentialStore, ExtensionStore, StoreError, WebhookStore};

/// One page of a collection and the size of the whole filtered collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Value>,
    pub total: u64,
}

/// One page with each record as its stored JSON text: responses that copy
/// most of each record need not build and drop a tree of it. The text is
/// not validated again on the way out (that was a full parse per record);
/// rendering parses what it needs and reports a record that is not JSON.
#[derive(Debug)]
pub struct RawPage {
    pub items: Vec<String>,
    pub total: u64,
}

impl RawPage {
    /// A parsed page, serialised.
    pub fn from_parsed(page: Page) -> Result<Self, StoreError> {
        let items = page
            .items
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::Backend(format!("serialising a record: {e}")))?;
        Ok(Self {
            items,
            total: page.total,
        })
    }
}

/// A read-modify-write step run inside the backend's write transaction, so
/// concurrent updates to one record serialise instead of losing writes.
pub type Update = Box<dyn FnOnce(Value) -> Result<Value, ModelError> + Send>;

/// New records for [`ResourceStore::insert_bulk`], a batch at a time, each
/// a JSON object as text (an import holds its records as text; a backend
/// that stores text keeps it as given rather than parse and re-serialise a
/// million records). An `Err` withdraws the whole load: the producer found,
/// while the store was already writing, that it must not land (an import
/// still checking the rest of its package). The iterator may block (on a
/// channel fed by other threads, on such a verdict); backends pull from it
/// off the async runtime.
pub type Batches = Box<dyn Iterator<Item = Result<Vec<String>, StoreError>> + Send>;

/// One step of an [`ResourceStore::apply`].
#[derive(Debug)]
pub enum Write {
    /// New records of one resource, a batch of JSON objects as text (as in
    /// [`Batches`]).
    Insert(&'static ResourceDecl, Vec<String>),
    /// A stored record replaced by `doc` (JSON text), only if it is still
    /// the version the writer planned from: its `dateLastModified` equal to
    /// `read`. A record changed (or removed) since is a `Conflict` naming
    /// it, never overwritten.
    Replace {
        decl: &'static ResourceDecl,
        id: String,
        read: Option<String>,
        doc: String,
    },
}

/// The steps of an [`ResourceStore::apply`], pulled as the store writes.
/// An `Err` withdraws everything (see [`Batches`]); the iterator may block.
pub type Writes = Box<dyn Iterator<Item = Result<Write, StoreError>> + Send>;

/// Records of every declared OneRoster resource, stored as canonical JSON.
#[async_trait]
pub trait ResourceStore: Send + Sync {
    async fn get(&self, decl: &'static ResourceDecl, id: &str) -> Result<Option<Value>, StoreError>;

    /// Records with the given ids (missing ones are skipped), for resolving
    /// references such as `primaryOrg.name` in one round trip.
    async fn get_many(&self, decl: &'static ResourceDecl, ids: Vec<String>) -> Result<Vec<Value>, StoreError>;

    async fn list(&self, decl: &'static ResourceDecl, query: &ListQuery) -> Result<Page, StoreError>;

    /// As [`list`](Self::list), records as JSON text. Backends that store
    /// text override this; the default serialises the parsed records.
    async fn list_raw(&self, decl: &'static ResourceDecl, query: &ListQuery) -> Result<RawPage, StoreError> {
        RawPage::from_parsed(self.list(decl, query).await?)
    }

    /// The records whose unique `field` has one of `keys` (compared on its
    /// key, [`oneroster::unique_key`]), as (key, sourcedId): what an import
    /// checks its new values against before writing.
    async fn unique_holders(
        &self,
        decl: &'static ResourceDecl,
        field: &'static FieldDecl,
        keys: Vec<String>,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Stores a new record; `Conflict` if its sourcedId or a unique field is taken.
    async fn insert(&self, decl: &'static ResourceDecl, doc: Value) -> Result<(), StoreError>;

    /// Stores many new records in one transaction: all or none. Backends
    /// override this for speed; the default inserts one at a time.
    async fn insert_many(&self, decl: &'static ResourceDecl, docs: Vec<Value>) -> Result<(), StoreError> {
        for doc in docs {
            self.insert(decl, doc).await?;
        }
        Ok(())
    }

    /// Stores a large set of new records (an import, a generated dataset)
    /// in one transaction and returns how many: all or nothing, whether a
    /// record fails (not JSON: `Invalid`; taken: `Conflict`) or the
    /// producer withdraws the load (an `Err` batch, returned as given).
    /// SQLite also builds the secondary indexes after the rows when the
    /// table starts empty.
    async fn insert_bulk(&self, decl: &'static ResourceDecl, batches: Batches) -> Result<u64, StoreError> {
        let writes = batches.map(move |batch| batch.map(|records| Write::Insert(decl, records)));
        self.apply(Box::new(writes)).await
    }

    /// Applies every step in one transaction and returns how many records
    /// it wrote: all or nothing, whatever fails (a record, a stale
    /// `Replace`, a unique index, the producer withdrawing, the caller going
    /// away before the commit). An import's whole package is one `apply`,
    /// so readers and a crash see it entirely or not at all. SQLite builds a
    /// resource's secondary indexes after its rows when the table starts
    /// empty.
    async fn apply(&self, writes: Writes) -> Result<u64, StoreError>;

    /// Replaces a record with `change(current)`; `NotFound` if absent.
    /// Returns the stored result.
    async fn update(&self, decl: &'static ResourceDecl, id: &str, change: Update) -> Result<Value, StoreError>;
}

/// An OAuth client. The secret is only ever held as an argon2 hash.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub disabled: bool,
    /// Changed whenever the client's tokens must stop working (a new
    /// secret, disabled, new scopes); tokens carry the generation they were
    /// issued under. Random rather than counted, so a client deleted and
    /// created again under the same id does not revive its old tokens.
    pub token_generation: i64,
}

impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("secret_hash", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("disabled", &self.disabled)
            .field("token_generation", &self.token_generation)
            .finish()
    }
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError>;
    /// Creates or replaces the client with this id.
    async fn put_client(&self, client: ClientRecord) -> Result<(), StoreError>;
    async fn clients(&self) -> Result<Vec<ClientRecord>, StoreError>;
    /// Returns false when there was no such client.
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;
}

/// Server-wide settings shared by every instance (e.g. the token signing key).
/// Where a client's `Idempotency-Key` stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key was free (or its claim expired): the caller holds it now.
    Claimed,
    /// A request with this fingerprint holds the key; `response` once it finished.
    Held {
        fingerprint: String,
        response: Option<String>,
    },
}

/// When an `Idempotency-Key` claim is made, and which claims it outlives
/// (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct KeyTimes {
    pub now: i64,
    /// Claims made before this are forgotten.
    pub expired_before: i64,
    /// Claims still without a response made before this are forgotten.
    pub stale_before: i64,
}

/// `Idempotency-Key`s, shared by every instance on the database, so a retry
/// that lands on another instance is still answered from the first try.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for `client` at `at.now` (Unix seconds), after forgetting
    /// what `at` says has expired; atomic, so of two requests racing with
    /// one key exactly one gets `Claimed`.
    async fn claim_key(&self, client: &str, key: &str, fingerprint: &str, at: KeyTimes)
    -> Result<KeyClaim, StoreError>;
    /// Keeps the response of the request holding the key, for replays.
    async fn finish_key(&self, client: &str, key: &str, response: &str) -> Result<(), StoreError>;
    /// Frees a key whose request is to be retried rather than replayed.
    async fn release_key(&self, client: &str, key: &str) -> Result<(), StoreError>;
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// Stores `value` under `key` unless a value is already there, and
    /// returns whichever value is stored: safe when instances start together.
    async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError>;
    /// Cheap round trip, for health checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Queue waits, pool fill and commit grouping so far, for `/metrics`;
    /// a backend that records none reports none.
    fn stats(&self) -> crate::stats::StoreStats {
        crate::stats::StoreStats::default()
    }
}

/// Everything a backend provides.
pub trait Store:
    ResourceStore
    + ClientStore
    + SettingsStore
    + CredentialStore
    + IdempotencyStore
    + ChangeStore
    + WebhookStore
    + ExtensionStore
{
}

impl<T> Store for T where
    T: ResourceStore
        + ClientStore
        + SettingsStore
        + CredentialStore
        + IdempotencyStore
        + ChangeStore
        + WebhookStore
        + ExtensionStore
{
}

/// One record of [`Batches`], parsed.
pub fn parse_record(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Invalid(ModelError(format!("a bulk record is not JSON: {e}"))))
}
