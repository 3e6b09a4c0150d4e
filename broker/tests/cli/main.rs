//! End-to-end tests of the `charter` client subcommands: real `charter` processes against a
//! real `charter serve` on free ports, checking output and the documented exit codes
//! (0 ok, 1 check failed, 2 usage, 3 unreachable, 4 not found, 5 other). One test binary for
//! all of them keeps CI's link time down; run one family with e.g.
//! `cargo test -p charter-broker --test cli schema::`.

mod common;
mod data;
mod group;
mod schema;
mod topic;
mod walkthrough;
