//! The quorum as one node sees it: who leads, the voters, and how far each has replicated.
//!
//! Only the leader knows every voter's progress (openraft tracks it in the leader's
//! replication state), so [`QuorumView::of`] on a follower leaves the progress empty and the
//! answer to an operator (`charter cluster status`, Kafka's DescribeQuorum) is fetched from the
//! leader over the transport: `GET /controller/quorum`.

use openraft::{Raft, RaftMetrics, ServerState};
use serde::{Deserialize, Serialize};

use crate::types::{ClusterNode, NodeId, TypeConfig};

/// One voter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoterView {
    pub node_id: NodeId,
    /// Its cluster listener.
    pub addr: String,
    /// The last log index known to be on that node's disk (the leader's matched index;
    /// for the leader itself, its own last log index). `None` when unknown.
    pub matched_index: Option<u64>,
}

/// The quorum seen from one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumView {
    /// The node that made this view.
    pub node_id: NodeId,
    pub leader: Option<NodeId>,
    pub term: u64,
    /// True when `node_id` leads: then every voter's `matched_index` is known.
    pub from_leader: bool,
    /// The last log index this node has applied.
    pub applied_index: Option<u64>,
    /// The last log index in this node's log.
    pub last_log_index: Option<u64>,
    pub voters: Vec<VoterView>,
}

impl QuorumView {
    /// The view from `raft`'s current metrics.
    pub fn of(raft: &Raft<TypeConfig>) -> QuorumView {
        QuorumView::from_metrics(&raft.metrics().borrow())
    }

    fn from_metrics(m: &RaftMetrics<NodeId, ClusterNode>) -> QuorumView {
        let leading = m.state == ServerState::Leader;
        let membership = m.membership_config.membership();
        let voter_ids: std::collections::BTreeSet<NodeId> = membership.voter_ids().collect();
        let voters = membership
            .nodes()
            .filter(|(id, _)| voter_ids.contains(id))
            .map(|(&node_id, node)| {
                let matched_index = if !leading {
                    None
                } else if node_id == m.id {
                    m.last_log_index
                } else {
                    m.replication
                        .as_ref()
                        .and_then(|r| r.get(&node_id).copied().flatten())
                        .map(|l| l.index)
                };
                VoterView {
                    node_id,
                    addr: node.addr.clone(),
                    matched_index,
                }
            })
            .collect();
        QuorumView {
            node_id: m.id,
            leader: m.current_leader,
            term: m.current_term,
            from_leader: leading,
            applied_index: m.last_applied.map(|l| l.index),
            last_log_index: m.last_log_index,
            voters,
        }
    }

    /// The leader's address, when this view names a leader among the voters.
    pub fn leader_addr(&self) -> Option<&str> {
        let leader = self.leader?;
        self.voters
            .iter()
            .find(|v| v.node_id == leader)
            .map(|v| v.addr.as_str())
    }

    /// The highest index a majority of voters holds (what the leader may consider committed).
    pub fn majority_index(&self) -> Option<u64> {
        let mut matched: Vec<Option<u64>> = self.voters.iter().map(|v| v.matched_index).collect();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        matched.get(self.voters.len() / 2).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(matched: &[Option<u64>]) -> QuorumView {
        QuorumView {
            node_id: 1,
            leader: Some(1),
            term: 3,
            from_leader: true,
            applied_index: Some(9),
            last_log_index: Some(9),
            voters: matched
                .iter()
                .enumerate()
                .map(|(i, &m)| VoterView {
                    node_id: i as u64 + 1,
                    addr: format!("127.0.0.1:{}", 9000 + i),
                    matched_index: m,
                })
                .collect(),
        }
    }

    #[test]
    fn majority_index_is_what_most_voters_hold() {
        assert_eq!(view(&[Some(9), Some(7), Some(3)]).majority_index(), Some(7));
        assert_eq!(view(&[Some(9), None, None]).majority_index(), None);
        assert_eq!(view(&[Some(9)]).majority_index(), Some(9));
        assert_eq!(
            view(&[Some(9), Some(8), Some(2), None, None]).majority_index(),
            Some(2)
        );
    }

    #[test]
    fn leader_addr_comes_from_the_voters() {
        let v = view(&[Some(1), Some(1), Some(1)]);
        assert_eq!(v.leader_addr(), Some("127.0.0.1:9000"));
        let v = QuorumView {
            leader: Some(7),
            ..view(&[Some(1)])
        };
        assert_eq!(v.leader_addr(), None);
    }
}
