//! Any bytes as journal files: record and snapshot decoding, and a whole journal opened over
//! them (torn tails cut, damage refused, never a panic or a huge allocation).
#![no_main]

use charter_journal::{record, Journal, Recovery};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let record::Decoded::Record { len, .. } = record::decode(rest) {
        rest = &rest[len..];
    }
    let _ = record::decode_snapshot(data);

    // A real journal whose log is these bytes; the first byte says how many records the
    // watermark claims were acknowledged.
    let Some((&claimed, log)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j");
    {
        let (j, _) = Journal::open(&path).expect("create");
        for i in 0..claimed % 8 {
            j.append(&[i]).expect("append");
        }
        j.sync().expect("sync");
    }
    let log_path = std::fs::read_dir(&path)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .expect("log file");
    std::fs::write(&log_path, log).expect("write");
    for recovery in [Recovery::Strict, Recovery::AcceptLoss] {
        if let Ok((j, replay)) = Journal::open_with(&path, recovery) {
            // What was replayed is what a reopen replays.
            drop(j);
            let (_, again) = Journal::open(&path).expect("a journal that opened reopens");
            assert_eq!(again.records, replay.records);
        }
    }
});
