//! openraft's own storage test suite against the journal-backed stores.

use charter_cluster::{LogStore, LogStoreOptions, StateMachine, TypeConfig};
use openraft::testing::{StoreBuilder, Suite};
use openraft::StorageError;

struct Builder {
    options: LogStoreOptions,
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = LogStore::open(&dir.path().join("log"), self.options).expect("open log");
        let sm = StateMachine::open(&dir.path().join("sm")).expect("open state machine");
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    Suite::test_all(Builder {
        options: LogStoreOptions::default(),
    })
    .expect("openraft's storage suite");
}

/// The same suite with compaction after every few records, so that every operation also
/// runs across journal compactions.
#[test]
fn openraft_storage_suite_compacting() {
    Suite::test_all(Builder {
        options: LogStoreOptions { compact_after: 2 },
    })
    .expect("openraft's storage suite, compacting");
}
