use super::*;

fn payloads(r: &Replay) -> Vec<Vec<u8>> {
    r.records.iter().map(|(_, p)| p.clone()).collect()
}

fn active_log(dir: &Path) -> PathBuf {
    let (_, logs) = list(dir).unwrap();
    logs.last().unwrap().1.clone()
}

#[test]
fn appended_and_synced_records_replay_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    {
        let (j, replay) = Journal::open(&dir).unwrap();
        assert!(replay.records.is_empty() && replay.snapshot.is_none());
        assert_eq!(j.append(b"a").unwrap(), 1);
        assert_eq!(j.append_marked(b"b", 7).unwrap(), 2);
        j.sync().unwrap();
        assert_eq!(j.append(b"c").unwrap(), 3);
        j.sync().unwrap();
    }
    let (j, replay) = Journal::open(&dir).unwrap();
    assert_eq!(
        payloads(&replay),
        vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
    );
    assert_eq!(replay.mark, 7);
    assert_eq!(replay.torn_bytes, 0);
    assert_eq!(j.append(b"d").unwrap(), 4);
}

#[test]
fn a_torn_tail_after_the_watermark_is_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    {
        let (j, _) = Journal::open(&dir).unwrap();
        j.append(b"kept").unwrap();
        j.sync().unwrap();
        // Appended but never synced: not acknowledged.
        j.append(b"unacknowledged").unwrap();
    }
    // A crash cut the last record short.
    let log = active_log(&dir);
    let len = std::fs::metadata(&log).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len - 3)
        .unwrap();

    let (j, replay) = Journal::open(&dir).unwrap();
    assert_eq!(payloads(&replay), vec![b"kept".to_vec()]);
    assert_eq!(replay.torn_bytes, 16 + 14 - 3);
    // The next record takes the next number and replays after a restart.
    assert_eq!(j.append(b"next").unwrap(), 2);
    j.sync().unwrap();
    drop(j);
    let (_, replay) = Journal::open(&dir).unwrap();
    assert_eq!(payloads(&replay), vec![b"kept".to_vec(), b"next".to_vec()]);
}

#[test]
fn garbage_after_the_last_acknowledged_record_is_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    {
        let (j, _) = Journal::open(&dir).unwrap();
        j.append(b"one").unwrap();
        j.sync().unwrap();
    }
    let log = active_log(&dir);
    let f = OpenOptions::new().write(true).open(&log).unwrap();
    let len = f.metadata().unwrap().len();
    f.write_all_at(&[0x5a; 100], len).unwrap();
    let (_, replay) = Journal::open(&dir).unwrap();
    assert_eq!(payloads(&replay), vec![b"one".to_vec()]);
    assert_eq!(replay.torn_bytes, 100);
}

#[test]
fn damage_below_the_watermark_is_refused_then_accepted_on_request() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    {
        let (j, _) = Journal::open(&dir).unwrap();
        for i in 0..5u8 {
            j.append_marked(&[i; 10], 100 + i as u64).unwrap();
        }
        j.sync().unwrap();
    }
    let log = active_log(&dir);
    // Flip a byte inside the third record's payload.
    let f = OpenOptions::new().write(true).open(&log).unwrap();
    f.write_all_at(&[0xff], 2 * 26 + 20).unwrap();

    match Journal::open(&dir) {
        Err(JournalError::Damaged { detail, .. }) => {
            assert!(
                detail.contains("records up to 5 were acknowledged, only up to 2"),
                "{detail}"
            )
        }
        other => panic!("expected damage, got {:?}", other.map(|_| ())),
    }
    // Refusing wrote nothing: still refused.
    assert!(matches!(
        Journal::open(&dir),
        Err(JournalError::Damaged { .. })
    ));

    let (j, replay) = Journal::open_with(&dir, Recovery::AcceptLoss).unwrap();
    assert_eq!(replay.records.len(), 2);
    assert!(replay.accepted_loss.is_some());
    // The mark survives the loss: the owner's numbers never go back.
    assert_eq!(replay.mark, 104);
    assert_eq!(j.append(b"after").unwrap(), 3);
    j.sync().unwrap();
    drop(j);
    // The damaged file was kept aside, and the repaired journal opens strictly now.
    assert!(std::fs::read_dir(&dir).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".damaged-")));
    let (_, replay) = Journal::open(&dir).unwrap();
    assert_eq!(replay.records.len(), 3);
    assert_eq!(replay.mark, 104);
}

#[test]
fn a_truncated_log_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    {
        let (j, _) = Journal::open(&dir).unwrap();
        for _ in 0..10 {
            j.append(&[1; 100]).unwrap();
        }
        j.sync().unwrap();
    }
    let log = active_log(&dir);
    let len = std::fs::metadata(&log).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len * 3 / 10)
        .unwrap();
    assert!(matches!(
        Journal::open(&dir),
        Err(JournalError::Damaged { .. })
    ));
    // Cut exactly at a record boundary: still short of the watermark.
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(116)
        .unwrap();
    assert!(matches!(
        Journal::open(&dir),
        Err(JournalError::Damaged { .. })
    ));
}

#[test]
fn a_missing_or_damaged_watermark_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    {
        let (j, _) = Journal::open(&dir).unwrap();
        j.append(b"x").unwrap();
        j.sync().unwrap();
    }
    let wm = dir.join(WATERMARK);
    let f = OpenOptions::new().write(true).open(&wm).unwrap();
    f.write_all_at(&[0u8; 64], 0).unwrap();
    f.write_all_at(&[0u8; 64], 4096).unwrap();
    assert!(matches!(
        Journal::open(&dir),
        Err(JournalError::Damaged { .. })
    ));
    std::fs::remove_file(&wm).unwrap();
    assert!(matches!(
        Journal::open(&dir),
        Err(JournalError::Damaged { .. })
    ));
}

#[test]
fn compaction_replaces_the_log_and_survives_interrupted_cleanups() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    {
        let (j, _) = Journal::open(&dir).unwrap();
        for i in 0..100u32 {
            j.append_marked(&i.to_le_bytes(), i as u64).unwrap();
        }
        j.sync().unwrap();
        j.compact(b"state@100").unwrap();
        assert_eq!(j.log_bytes(), 0);
        assert_eq!(j.append(b"101").unwrap(), 101);
        j.sync().unwrap();
    }
    let (_, replay) = Journal::open(&dir).unwrap();
    assert_eq!(replay.snapshot.as_deref(), Some(&b"state@100"[..]));
    assert_eq!(replay.records, vec![(101, b"101".to_vec())]);
    assert_eq!(replay.mark, 99);
    let (_, logs) = list(&dir).unwrap();
    assert_eq!(logs.len(), 1, "the old log is gone");

    // A crash after the snapshot's rename but before the old log went: the old log is
    // obsolete and ignored (and removed).
    std::fs::write(dir.join(log_name(1)), b"stale").unwrap();
    let (_, replay) = Journal::open(&dir).unwrap();
    assert_eq!(replay.records, vec![(101, b"101".to_vec())]);
    assert!(!dir.join(log_name(1)).exists());
}

#[test]
fn concurrent_syncs_share_flushes_and_all_return_durable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let (j, _) = Journal::open(&dir).unwrap();
    let j = Arc::new(j);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let j = j.clone();
            std::thread::spawn(move || {
                for i in 0..50u32 {
                    j.append(&[t as u8, i as u8]).unwrap();
                    j.sync().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let generation = lock(&j.flush).watermark.generation;
    assert!(generation <= 1 + 400, "at most one flush per sync");
    drop(j);
    let (_, replay) = Journal::open(&dir).unwrap();
    assert_eq!(replay.records.len(), 400);
    let seqs: Vec<u64> = replay.records.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=400).collect::<Vec<_>>());
}

#[test]
fn oversized_records_are_refused_before_any_write() {
    let tmp = tempfile::tempdir().unwrap();
    let (j, _) = Journal::open(&tmp.path().join("j")).unwrap();
    let big = vec![0u8; record::MAX_RECORD + 1];
    assert!(matches!(j.append(&big), Err(JournalError::TooLarge(_))));
    assert_eq!(j.append(b"ok").unwrap(), 1);
}
