//! One node of a Charter cluster: which controller `charter serve` runs, from its flags.
//!
//! Every `charter serve` runs a controller (`<data dir>/controller`): with `--voters` it is
//! one voter of that quorum, without it the only voter of its own. One code path either way;
//! a single node simply elects itself. The one-voter controller listens on an ephemeral
//! loopback port (nobody calls a lone voter), so the two-command start needs no new port.
//!
//! The registry's batches travel through the controller's log: [`ControllerLog`] is the
//! [`ReplicatedLog`] the registry asks for, [`RegistryApplier`] hands each committed batch
//! back to the registry on every node. Neither crate knows the other; this module wires them.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use charter_cluster::{
    AppliedState, Applier, ClusterNode, Controller, ControllerConfig, Expect, MetadataCommand,
    NodeId, Voters,
};
use charter_registry::replicated::{ReplicatedLog, Submitted};
use charter_registry::Registry;

/// The controller's directory under the data dir.
pub const CONTROLLER_DIR: &str = "controller";

/// The cluster flags of `charter serve`.
#[derive(Debug, Clone)]
pub struct ClusterFlags {
    /// `--node-id`.
    pub node_id: i32,
    /// `--cluster-listen`; defaults to this node's entry in `voters`.
    pub cluster_listen: Option<String>,
    /// `--voters`; `None` for a one-voter cluster.
    pub voters: Option<Voters>,
}

/// The controller configuration the flags describe. `bootstrap_cluster_id` is the id a new
/// cluster adopts (the broker's existing one, so an upgraded node keeps its clients' id).
pub fn controller_config(
    data_dir: &Path,
    flags: &ClusterFlags,
    bootstrap_cluster_id: Option<String>,
    recovery: charter_journal::Recovery,
) -> Result<ControllerConfig, String> {
    let node_id = NodeId::try_from(flags.node_id)
        .map_err(|_| format!("--node-id {} must not be negative", flags.node_id))?;
    let (voters, listen) = match &flags.voters {
        Some(voters) => {
            let own = voters.0.get(&node_id).ok_or_else(|| {
                format!(
                    "--node-id {node_id} is not in --voters ({}); every voter runs with the same \
                     list, naming itself",
                    voters
                        .0
                        .keys()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })?;
            let listen = flags.cluster_listen.clone().unwrap_or(own.addr.clone());
            (voters.clone(), listen)
        }
        None => {
            let listen = flags
                .cluster_listen
                .clone()
                .unwrap_or_else(|| "127.0.0.1:0".to_string());
            let voters = Voters(
                [(
                    node_id,
                    ClusterNode {
                        addr: listen.clone(),
                    },
                )]
                .into(),
            );
            (voters, listen)
        }
    };
    Ok(ControllerConfig {
        node_id,
        data_dir: data_dir.join(CONTROLLER_DIR),
        cluster_listen: listen,
        voters,
        expect: Expect::AskPeers,
        bootstrap_cluster_id,
        recovery,
        tuning: Default::default(),
    })
}

/// The registry's replicated log: registry batches as [`MetadataCommand::Registry`] entries,
/// submitted through whichever node leads.
pub struct ControllerLog(pub Arc<Controller>);

impl ReplicatedLog for ControllerLog {
    fn submit(
        &self,
        batch: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Result<Submitted, String>> + Send + '_>> {
        Box::pin(async move {
            let r = self
                .0
                .submit(MetadataCommand::Registry(batch))
                .await
                .map_err(|e| e.to_string())?;
            Ok(Submitted {
                index: r.index,
                rejected: r.rejected,
            })
        })
    }
}

/// Hands the controller's committed registry batches to the registry.
pub struct RegistryApplier(pub Arc<Registry>);

impl Applier for RegistryApplier {
    fn apply(&self, index: u64, cmd: &MetadataCommand) -> Result<(), String> {
        match cmd {
            MetadataCommand::Registry(bytes) => self.0.apply_replicated(index, bytes),
            _ => Ok(()),
        }
    }

    fn mark(&self, cmd: &MetadataCommand) -> u64 {
        match cmd {
            MetadataCommand::Registry(bytes) => charter_registry::replicated::next_id_after(bytes),
            _ => 0,
        }
    }

    fn reset(&self, state: &AppliedState) {
        self.0
            .reset_replicated(state.commands.iter().filter_map(|(i, c)| match c {
                MetadataCommand::Registry(b) => Some((*i, b.as_slice())),
                _ => None,
            }));
    }
}

/// How often a node waiting for its quorum says so.
const WAITING_NOTICE: Duration = Duration::from_secs(5);

/// Waits until the controller has a committed cluster id (a new multi-node cluster needs a
/// majority of its voters up first), saying every few seconds what it waits for.
pub async fn wait_for_cluster_id(controller: &Controller) -> String {
    loop {
        if let Some(id) = controller.wait_for_cluster_id(WAITING_NOTICE).await {
            return id;
        }
        let q = controller.local_quorum();
        tracing::info!(
            voters = ?q.voters.iter().map(|v| format!("{}@{}", v.node_id, v.addr)).collect::<Vec<_>>(),
            leader = ?q.leader,
            "waiting for the controller quorum (a majority of the voters must be up)"
        );
    }
}

/// Waits until this node applied what the controller leader had (so the registry it serves
/// includes every acknowledged write), saying every few seconds what it waits for.
pub async fn wait_caught_up(controller: &Controller) {
    loop {
        match controller.wait_caught_up(WAITING_NOTICE).await {
            Ok(index) => {
                tracing::info!(index, "caught up with the controller log");
                return;
            }
            Err(e) => tracing::info!(error = %e, "waiting to catch up with the controller log"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(node_id: i32, listen: Option<&str>, voters: Option<&str>) -> ClusterFlags {
        ClusterFlags {
            node_id,
            cluster_listen: listen.map(str::to_string),
            voters: voters.map(|v| v.parse().unwrap()),
        }
    }

    #[test]
    fn without_voters_a_node_is_its_own_quorum_on_an_ephemeral_port() {
        let c = controller_config(
            Path::new("/d"),
            &flags(1, None, None),
            None,
            Default::default(),
        )
        .unwrap();
        assert_eq!(c.node_id, 1);
        assert_eq!(c.cluster_listen, "127.0.0.1:0");
        assert_eq!(c.voters.0.len(), 1);
        assert_eq!(c.data_dir, Path::new("/d/controller"));
    }

    #[test]
    fn with_voters_the_listener_defaults_to_the_nodes_own_entry() {
        let v = "1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103";
        let c = controller_config(
            Path::new("/d"),
            &flags(2, None, Some(v)),
            None,
            Default::default(),
        )
        .unwrap();
        assert_eq!(c.cluster_listen, "127.0.0.1:9102");
        let c = controller_config(
            Path::new("/d"),
            &flags(2, Some("0.0.0.0:9102"), Some(v)),
            None,
            Default::default(),
        )
        .unwrap();
        assert_eq!(c.cluster_listen, "0.0.0.0:9102");
        let e = controller_config(
            Path::new("/d"),
            &flags(4, None, Some(v)),
            None,
            Default::default(),
        )
        .unwrap_err();
        assert!(e.contains("not in --voters"), "{e}");
    }
}
