//! Runs README.md's "Walkthrough" section, command by command, against a real `charter serve`
//! on free ports, so the documentation cannot rot.
//!
//! Every ```sh block under the heading is split into commands (a line, plus its `\`
//! continuations and here-document body). A trailing comment on a command's first line may say
//! `exits N` (default 0) and `expect: TEXT` (stdout or stderr must contain TEXT). Commands that
//! start the server (`charter serve ...`) are skipped: the test runs its own, and points the
//! commands at it through `CHARTER_REGISTRY_URL` and `CHARTER_BOOTSTRAP_SERVER`, the variables
//! the README tells readers about. The commands run in a temporary copy of `schemas/` and
//! `charter.toml`, with the freshly built `charter` first on `PATH`.

use std::path::Path;
use std::process::Command;

use crate::common::Server;

/// One command of the walkthrough and what it must do.
#[derive(Debug)]
struct Step {
    script: String,
    exit: i32,
    expect: Option<String>,
}

/// The ```sh blocks under `## {heading}` (until the next `## ` heading).
fn sh_blocks(readme: &str, heading: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut in_section = false;
    let mut current: Option<String> = None;
    for line in readme.lines() {
        if current.is_none() && line.starts_with("## ") {
            in_section = line.trim() == format!("## {heading}");
            continue;
        }
        if !in_section {
            continue;
        }
        match &mut current {
            None if line.trim() == "```sh" => current = Some(String::new()),
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The annotations of a command's first line: `# exits N, expect: TEXT`.
fn annotations(first_line: &str) -> (i32, Option<String>) {
    let Some(pos) = first_line.find(" # ") else {
        return (0, None);
    };
    let comment = first_line[pos + 3..].trim();
    let mut exit = 0;
    let mut expect = None;
    if let Some(rest) = comment.strip_prefix("exits ") {
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        exit = digits.parse().expect("exit code after `exits`");
    }
    if let Some(i) = comment.find("expect: ") {
        expect = Some(comment[i + "expect: ".len()..].trim().to_string());
    }
    (exit, expect)
}

/// Splits a block into commands: continuation lines and here-documents stay with theirs.
fn steps(block: &str) -> Vec<Step> {
    let mut out = Vec::new();
    let mut lines = block.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (exit, expect) = annotations(line);
        let mut script = format!("{line}\n");
        let mut last = line.to_string();
        while last.trim_end().ends_with('\\') {
            let Some(next) = lines.next() else { break };
            script.push_str(next);
            script.push('\n');
            last = next.to_string();
        }
        // A here-document runs to its terminator line.
        if let Some(i) = script.find("<<'") {
            let tag: String = script[i + 3..].chars().take_while(|c| *c != '\'').collect();
            for next in lines.by_ref() {
                script.push_str(next);
                script.push('\n');
                if next.trim() == tag {
                    break;
                }
            }
        }
        out.push(Step {
            script,
            exit,
            expect,
        });
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn readme_walkthrough_runs_as_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let steps: Vec<Step> = sh_blocks(&readme, "Walkthrough")
        .iter()
        .flat_map(|b| steps(b))
        .filter(|s| !s.script.trim_start().starts_with("charter serve"))
        .collect();
    assert!(
        steps.len() >= 15,
        "the walkthrough lost its commands: {steps:#?}"
    );

    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    copy_dir(&root.join("schemas"), &work.path().join("schemas"));
    std::fs::copy(root.join("charter.toml"), work.path().join("charter.toml")).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_charter"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    for step in &steps {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(&step.script)
            .current_dir(work.path())
            .env("PATH", &path)
            .env("CHARTER_REGISTRY_URL", &server.registry)
            .env("CHARTER_BOOTSTRAP_SERVER", &server.bootstrap)
            .env_remove("CHARTER_OUTPUT")
            .env_remove("CHARTER_PROJECT")
            .env("NO_COLOR", "1");
        let out = cmd.output().expect("run bash");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code().unwrap_or(-1);
        assert_eq!(
            code, step.exit,
            "README command exited {code}, documented {}:\n{}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            step.exit, step.script
        );
        if let Some(expect) = &step.expect {
            assert!(
                stdout.contains(expect.as_str()) || stderr.contains(expect.as_str()),
                "README command's output lacks {expect:?}:\n{}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                step.script
            );
        }
    }
}

#[test]
fn the_parser_understands_the_conventions() {
    let block = "charter a   # exits 1, expect: X Y\n\
                 cat > f <<'EOF'   # expect: z\n\
                 line\n\
                 EOF\n\
                 charter b \\\n  --flag\n\
                 # a comment\n";
    let s = steps(block);
    assert_eq!(s.len(), 3, "{s:#?}");
    assert_eq!(s[0].exit, 1);
    assert_eq!(s[0].expect.as_deref(), Some("X Y"));
    assert!(s[1].script.ends_with("line\nEOF\n"));
    assert_eq!(s[1].expect.as_deref(), Some("z"));
    assert!(s[2].script.contains("--flag"));
}
