//! The index a run writes: created, or opened to append to; one tantivy
//! writer shared by every worker; events added unless the index already
//! has them (see [`crate::dedupe`]); and commits at bounded intervals.
//!
//! A commit is taken under the write side of a lock whose read side every
//! worker holds while it checks and adds one event. So a commit never falls
//! between "this key is new" and "its document is added": each commit holds
//! exactly the documents whose keys left the pending set, and the keys of
//! what it holds are then answered by its segments.
//!
//! Once the writer fails (a commit that cannot be written, a full disk), no
//! document is added any more: after a failed commit tantivy keeps its
//! document channel open with no worker reading it, so an add would block
//! for ever once the channel is full. The run stops at its last commit.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{OnceLock, RwLock};

use evidx_schema::{index_settings, version, EvidxSchema};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument};

use crate::dedupe::{CommittedKeys, Pending};
use crate::error::IndexError;

/// Keys pending at which a commit is due whatever the time: bounds the
/// pending set (~20 bytes a key).
pub const MAX_PENDING: usize = 1 << 20;

pub struct Store {
    pub schema: EvidxSchema,
    index: Index,
    reader: IndexReader,
    live: RwLock<Live>,
    pending: Pending,
    /// Documents in the index when the run started, and added since.
    docs_at_start: u64,
    added: AtomicU64,
    /// Why the writer failed, from the first failure on.
    failed: OnceLock<String>,
}

struct Live {
    writer: IndexWriter<TantivyDocument>,
    keys: CommittedKeys,
}

/// Whether an event was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    New,
    Duplicate,
}

impl Store {
    /// Open the index in `dir` (or create it when `create`), with a writer
    /// of `threads` threads sharing `memory` bytes.
    pub fn open(
        dir: &Path,
        create: bool,
        threads: usize,
        memory: usize,
    ) -> Result<Store, IndexError> {
        let schema = EvidxSchema::build();
        let index = if create {
            Index::builder()
                .schema(schema.schema.clone())
                .settings(index_settings())
                .create_in_dir(dir)?
        } else {
            let index = Index::open_in_dir(dir)?;
            version::check(&index).map_err(|e| IndexError::Output {
                path: dir.to_path_buf(),
                reason: e.to_string(),
            })?;
            EvidxSchema::from_schema(&index.schema())?;
            index
        };
        evidx_schema::grams::register_tokenizers(&index);
        // Merges read their segments through maps that would otherwise
        // stay resident: RSS would follow the size of the index.
        evidx_schema::memory::watch(dir);
        let mut writer = index.writer_with_num_threads(threads, memory)?;
        writer.set_merge_policy(Box::<crate::merges::BoundedMerges>::default());
        if create {
            // At once, so that even a run killed before its first real
            // commit leaves an index readers know.
            let mut commit = writer.prepare_commit()?;
            commit.set_payload(&version::commit_payload());
            commit.commit()?;
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searcher = reader.searcher();
        let keys = CommittedKeys::load(dir, &schema, &searcher, None)?;
        crate::value_filters::sync(dir, &schema, &searcher)?;
        Ok(Store {
            docs_at_start: searcher.num_docs(),
            schema,
            index,
            reader,
            live: RwLock::new(Live { writer, keys }),
            pending: Pending::default(),
            added: AtomicU64::new(0),
            failed: OnceLock::new(),
        })
    }

    /// Add the document `build` makes for the event of `key` and `time`
    /// (its key time, in milliseconds), unless the index or this run already
    /// has that event. An error means the writer has failed (see
    /// [`Store::failure`]): nothing more can be added.
    pub fn add(
        &self,
        key: u128,
        time: Option<i64>,
        build: impl FnOnce() -> TantivyDocument,
    ) -> Result<Added, IndexError> {
        let live = self.live.read().unwrap_or_else(|p| p.into_inner());
        if let Some(reason) = self.failed.get() {
            return Err(IndexError::WriterFailed(reason.clone()));
        }
        if live.keys.contains(key, time) || !self.pending.insert(key) {
            return Ok(Added::Duplicate);
        }
        live.writer
            .add_document(build())
            .map_err(|e| self.fail(e.into()))?;
        self.added.fetch_add(1, Relaxed);
        Ok(Added::New)
    }

    /// Record the writer's first failure; returns the error to pass on.
    fn fail(&self, e: IndexError) -> IndexError {
        let _ = self.failed.set(e.to_string());
        e
    }

    /// Why the writer failed, once it has: the run must stop.
    pub fn failure(&self) -> Option<&str> {
        self.failed.get().map(String::as_str)
    }

    /// True when enough keys are pending that a commit is due.
    pub fn commit_due(&self) -> bool {
        self.pending.len() >= MAX_PENDING
    }

    /// Documents in the index once what was added is committed.
    pub fn documents(&self) -> u64 {
        self.docs_at_start + self.added.load(Relaxed)
    }

    /// Documents this run added.
    pub fn added(&self) -> u64 {
        self.added.load(Relaxed)
    }

    /// Commit what was added. `stage(opstamp, documents)` runs first, while
    /// no event can be added, to record what the commit will hold.
    pub fn commit(
        &self,
        dir: &Path,
        stage: impl FnOnce(u64, u64) -> Result<(), IndexError>,
    ) -> Result<u64, IndexError> {
        let mut live = self.live.write().unwrap_or_else(|p| p.into_inner());
        if let Some(reason) = self.failed.get() {
            return Err(IndexError::WriterFailed(reason.clone()));
        }
        // Any failure from here on leaves the writer unusable (see the
        // module's note); it is recorded before the lock is released, so no
        // worker adds to the writer after it.
        self.commit_locked(&mut live, dir, stage)
            .map_err(|e| self.fail(e))
    }

    fn commit_locked(
        &self,
        live: &mut Live,
        dir: &Path,
        stage: impl FnOnce(u64, u64) -> Result<(), IndexError>,
    ) -> Result<u64, IndexError> {
        let documents = self.documents();
        let mut commit = live.writer.prepare_commit()?;
        stage(commit.opstamp(), documents)?;
        commit.set_payload(&version::commit_payload());
        let opstamp = commit.commit()?;
        self.reader.reload()?;
        let searcher = self.reader.searcher();
        live.keys = CommittedKeys::load(dir, &self.schema, &searcher, Some(&live.keys))?;
        self.pending.clear();
        Ok(opstamp)
    }

    /// Write the value filters of the last commit's new segments. Outside
    /// the commit's lock (workers go on adding meanwhile) and after its
    /// manifest is published: a filter only saves queries lookups. A
    /// failure stops the run, as a failed commit does.
    pub fn sync_value_filters(&self, dir: &Path) -> Result<(), IndexError> {
        crate::value_filters::sync(dir, &self.schema, &self.reader.searcher())
            .map_err(|e| self.fail(e.into()))
    }

    /// The opstamp of the last commit.
    pub fn opstamp(&self) -> Result<u64, IndexError> {
        Ok(self.index.load_metas()?.opstamp)
    }

    /// Wait for background merges, then bring the key and value filters up
    /// to date with the merged segments (so the next run finds them).
    pub fn finish(self, dir: &Path) -> Result<(), IndexError> {
        let live = self.live.into_inner().unwrap_or_else(|p| p.into_inner());
        live.writer.wait_merging_threads()?;
        self.reader.reload()?;
        let searcher = self.reader.searcher();
        CommittedKeys::load(dir, &self.schema, &searcher, Some(&live.keys))?;
        crate::value_filters::sync(dir, &self.schema, &searcher)?;
        Ok(())
    }
}
