//! A node's identity on disk: `node.properties` in its data dir.
//!
//! The file holds the node id, a *directory incarnation* (a UUID made when the directory was
//! first used: KIP-853's idea, so that a wiped and re-created directory is a different voter
//! from the one the quorum knew) and, once the controller has committed it, the cluster id.
//! It is written to a temporary name, fsync'd, renamed into place and the directory fsync'd,
//! so a crash leaves the old file or the new one, never half of one.
//!
//! The rule it enforces: a node the caller says belongs to an existing cluster must find its
//! identity. A voter whose disk was wiped lost its vote and its log; letting it vote again
//! could elect a leader without committed entries. Such a node is refused and must be re-added
//! as a learner (not supported yet) after its old incarnation is removed from the voters.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::types::NodeId;

/// The file's name inside the data dir.
pub const FILE: &str = "node.properties";
/// Refuse to read anything larger: the file is a few lines.
const MAX_LEN: u64 = 64 * 1024;

/// What `node.properties` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    pub node_id: NodeId,
    pub incarnation: Uuid,
    /// Set once the controller committed the cluster's bootstrap.
    pub cluster_id: Option<String>,
}

/// Whether the data dir may be new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A new node of a new cluster, or a restart: create the identity if missing.
    NewOrExisting,
    /// As `NewOrExisting`, but a node whose log is empty asks the other voters first whether
    /// the cluster knows its id already (then its data dir was wiped, and it is refused).
    /// What `charter serve` uses; it waits until the peers can tell.
    AskPeers,
    /// The caller says this node is a voter of a cluster that already exists: its identity
    /// (and its log) must be there.
    Existing,
}

/// Why the identity could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is damaged: {detail}")]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "data dir {dir} belongs to node {found}, but this node was started as node {configured}; \
         start it with --node-id {found} or give it its own data dir"
    )]
    WrongNode {
        dir: PathBuf,
        found: NodeId,
        configured: NodeId,
    },
    #[error(
        "data dir {dir} holds no identity ({FILE} is missing), but node {node_id} is configured as \
         a voter of an existing cluster: its disk was wiped or it points at the wrong directory. \
         A voter that lost its log must not vote again. Restore the directory, or remove node \
         {node_id} from the voters and re-add it as a learner with an empty data dir (learner \
         re-add is not supported yet)"
    )]
    Wiped { dir: PathBuf, node_id: NodeId },
    #[error("data dir {dir} belongs to cluster {found}, but the controller committed cluster {committed}")]
    WrongCluster {
        dir: PathBuf,
        found: String,
        committed: String,
    },
}

impl NodeIdentity {
    /// Opens the identity in `dir` (created if missing), checking it names `node_id`.
    pub fn open(
        dir: &Path,
        node_id: NodeId,
        expect: Expect,
    ) -> Result<NodeIdentity, IdentityError> {
        let path = dir.join(FILE);
        match read(&path)? {
            Some(id) if id.node_id != node_id => Err(IdentityError::WrongNode {
                dir: dir.to_path_buf(),
                found: id.node_id,
                configured: node_id,
            }),
            Some(id) => Ok(id),
            None if expect == Expect::Existing => Err(IdentityError::Wiped {
                dir: dir.to_path_buf(),
                node_id,
            }),
            None => {
                let id = NodeIdentity {
                    node_id,
                    incarnation: Uuid::new_v4(),
                    cluster_id: None,
                };
                id.write(dir)?;
                tracing::info!(node_id, incarnation = %id.incarnation, dir = %dir.display(), "new node identity");
                Ok(id)
            }
        }
    }

    /// Records the committed cluster id (once); a different one already recorded is refused.
    pub fn set_cluster_id(&mut self, dir: &Path, cluster_id: &str) -> Result<(), IdentityError> {
        match &self.cluster_id {
            Some(c) if c == cluster_id => Ok(()),
            Some(c) => Err(IdentityError::WrongCluster {
                dir: dir.to_path_buf(),
                found: c.clone(),
                committed: cluster_id.to_string(),
            }),
            None => {
                let mut next = self.clone();
                next.cluster_id = Some(cluster_id.to_string());
                next.write(dir)?;
                *self = next;
                Ok(())
            }
        }
    }

    fn encode(&self) -> String {
        let mut s = String::from("# Charter node identity. Do not edit or copy between nodes.\n");
        s.push_str("version=1\n");
        s.push_str(&format!("node.id={}\n", self.node_id));
        s.push_str(&format!("directory.id={}\n", self.incarnation));
        if let Some(c) = &self.cluster_id {
            s.push_str(&format!("cluster.id={c}\n"));
        }
        s
    }

    fn decode(text: &str) -> Result<NodeIdentity, String> {
        let (mut node_id, mut incarnation, mut cluster_id, mut version) = (None, None, None, None);
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("not a key=value line: {line:?}"))?;
            let v = v.trim();
            match k.trim() {
                "version" => version = Some(v.to_string()),
                "node.id" => {
                    node_id = Some(
                        v.parse::<NodeId>()
                            .map_err(|e| format!("node.id {v:?}: {e}"))?,
                    )
                }
                "directory.id" => {
                    incarnation =
                        Some(Uuid::parse_str(v).map_err(|e| format!("directory.id {v:?}: {e}"))?)
                }
                "cluster.id" if !v.is_empty() => cluster_id = Some(v.to_string()),
                // Unknown keys are refused: a newer release's file must not be half-understood.
                other => return Err(format!("unknown key {other:?}")),
            }
        }
        if version.as_deref() != Some("1") {
            return Err(format!("unsupported version {version:?}"));
        }
        Ok(NodeIdentity {
            node_id: node_id.ok_or("node.id is missing")?,
            incarnation: incarnation.ok_or("directory.id is missing")?,
            cluster_id,
        })
    }

    fn write(&self, dir: &Path) -> Result<(), IdentityError> {
        let io = |path: &Path, source| IdentityError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let tmp = dir.join("node.properties.tmp");
        let dst = dir.join(FILE);
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| io(&tmp, e))?;
        f.write_all(self.encode().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| io(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, &dst).map_err(|e| io(&dst, e))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(dir, e))
    }
}

fn read(path: &Path) -> Result<Option<NodeIdentity>, IdentityError> {
    let io = |source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let damaged = |detail: String| IdentityError::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    if meta.len() > MAX_LEN {
        return Err(damaged(format!("{} bytes is too large", meta.len())));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let text = String::from_utf8(bytes).map_err(|_| damaged("not UTF-8".into()))?;
    NodeIdentity::decode(&text).map(Some).map_err(damaged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_dir_gets_an_identity_that_a_restart_finds() {
        let dir = tempfile::tempdir().unwrap();
        let a = NodeIdentity::open(dir.path(), 3, Expect::NewOrExisting).unwrap();
        assert_eq!(a.node_id, 3);
        assert_eq!(a.cluster_id, None);
        let b = NodeIdentity::open(dir.path(), 3, Expect::Existing).unwrap();
        assert_eq!(a, b, "the same incarnation after a restart");
        assert!(!dir.path().join("node.properties.tmp").exists());
    }

    #[test]
    fn a_wiped_dir_is_refused_when_the_node_belongs_to_an_existing_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let e = NodeIdentity::open(&dir.path().join("data"), 2, Expect::Existing).unwrap_err();
        assert!(matches!(e, IdentityError::Wiped { node_id: 2, .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("learner") && msg.contains("wiped"), "{msg}");
        assert!(
            !dir.path().join("data").join(FILE).exists(),
            "nothing created"
        );
    }

    #[test]
    fn another_nodes_dir_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        NodeIdentity::open(dir.path(), 1, Expect::NewOrExisting).unwrap();
        let e = NodeIdentity::open(dir.path(), 2, Expect::NewOrExisting).unwrap_err();
        assert!(
            matches!(
                e,
                IdentityError::WrongNode {
                    found: 1,
                    configured: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("--node-id 1"), "{e}");
    }

    #[test]
    fn the_cluster_id_is_recorded_once_and_a_different_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut id = NodeIdentity::open(dir.path(), 1, Expect::NewOrExisting).unwrap();
        id.set_cluster_id(dir.path(), "c-1").unwrap();
        id.set_cluster_id(dir.path(), "c-1").unwrap();
        let reread = NodeIdentity::open(dir.path(), 1, Expect::Existing).unwrap();
        assert_eq!(reread.cluster_id.as_deref(), Some("c-1"));
        assert_eq!(reread.incarnation, id.incarnation);
        let e = id.set_cluster_id(dir.path(), "c-2").unwrap_err();
        assert!(matches!(e, IdentityError::WrongCluster { .. }), "{e}");
        assert_eq!(
            NodeIdentity::open(dir.path(), 1, Expect::Existing)
                .unwrap()
                .cluster_id
                .as_deref(),
            Some("c-1")
        );
    }

    #[test]
    fn a_damaged_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [
            "version=1\nnode.id=x\ndirectory.id=00000000-0000-0000-0000-000000000000\n",
            "version=1\nnode.id=1\n",
            "version=2\nnode.id=1\ndirectory.id=00000000-0000-0000-0000-000000000000\n",
            "garbage",
            "version=1\nnode.id=1\ndirectory.id=00000000-0000-0000-0000-000000000000\nfoo=1\n",
        ] {
            std::fs::write(dir.path().join(FILE), bad).unwrap();
            let e = NodeIdentity::open(dir.path(), 1, Expect::NewOrExisting).unwrap_err();
            assert!(matches!(e, IdentityError::Damaged { .. }), "{bad:?}: {e}");
            assert_eq!(std::fs::read_to_string(dir.path().join(FILE)).unwrap(), bad);
        }
        std::fs::write(dir.path().join(FILE), vec![b'#'; 100_000]).unwrap();
        assert!(matches!(
            NodeIdentity::open(dir.path(), 1, Expect::NewOrExisting),
            Err(IdentityError::Damaged { .. })
        ));
    }
}
