//! The operator's manual's commands are the ones the binaries take:
//! every `accord-node …` (and `accord …`) command in docs/operating.md —
//! in its shell blocks and in its inline code — is parsed by the real
//! binary, so that a renamed subcommand or flag fails here before it
//! fails an operator.

use std::path::{Path, PathBuf};
use std::process::Command;

const NODE_BINARY: &str = env!("CARGO_BIN_EXE_accord-node");

/// docs/operating.md, read at run time (CONTRIBUTING.md: no build-time
/// paths for data files).
fn manual() -> String {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let path = Path::new(&crate_dir).join("../../docs/operating.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shell blocks' lines (continuations joined) and the inline code
/// spans of the prose.
fn snippets(markdown: &str) -> Vec<String> {
    let mut snippets = Vec::new();
    let mut prose = String::new();
    let mut fence: Option<String> = None;
    let mut pending = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(info.trim().to_owned()),
            };
            continue;
        }
        match &fence {
            Some(info) if ["sh", "shell", "bash", "console"].contains(&info.as_str()) => {
                let line = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
                match line.strip_suffix('\\') {
                    Some(head) => pending.push_str(head),
                    None => {
                        pending.push_str(line);
                        snippets.push(std::mem::take(&mut pending));
                    }
                }
            }
            Some(_) => {}
            None => {
                prose.push_str(line);
                prose.push(' ');
            }
        }
    }
    snippets.extend(prose.split('`').skip(1).step_by(2).map(str::to_owned));
    snippets
}

/// The program (`accord-node` or `accord`) and its arguments, if the
/// snippet runs one of them, directly or as another user (`sudo -u USER`)
/// or in a container (`docker exec NAME`). Comments are dropped and a
/// command substitution `$(…)` stands for one argument.
fn invocation(snippet: &str) -> Option<(String, Vec<String>)> {
    let mut text = snippet.split(" #").next().unwrap_or_default().to_owned();
    while let Some(start) = text.find("$(") {
        let end = text[start..].find(')').map_or(text.len(), |e| start + e + 1);
        text.replace_range(start..end, "SUBSTITUTED");
    }
    let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    while matches!(words.as_slice(), [first, second, _, ..]
        if (first == "sudo" && second == "-u") || (first == "docker" && second == "exec"))
    {
        words.drain(..3);
    }
    let program = words.first()?.clone();
    if !["accord-node", "accord"].contains(&program.as_str()) {
        return None;
    }
    assert!(!text.contains(['"', '\'']), "quoted arguments are not read here: {snippet}");
    Some((program, words.split_off(1)))
}

/// The binary of `program`: accord-node from this package, accord (the
/// members' CLI) from the same target directory.
fn binary(program: &str) -> PathBuf {
    if program == "accord-node" {
        return PathBuf::from(NODE_BINARY);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe.parent().and_then(Path::parent).expect("target/PROFILE/deps");
    let path = profile.join(program);
    assert!(path.exists(), "{} is not built (cargo build --workspace builds it)", path.display());
    path
}

/// Whether the binary accepts `args`: its parser reads every subcommand,
/// flag and value given, then `--help` stops it before it does anything.
fn parses(program: &str, args: &[String]) -> Result<(), String> {
    let out = Command::new(binary(program)).args(args).arg("--help").output().expect("the binary runs");
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

#[test]
fn every_command_of_the_operators_manual_parses_with_the_real_binary() {
    let commands: Vec<(String, Vec<String>)> = snippets(&manual()).iter().filter_map(|s| invocation(s)).collect();

    // The manual's commands are found: each operator task it documents.
    let subcommands: Vec<&str> = commands
        .iter()
        .filter(|(program, _)| program == "accord-node")
        .filter_map(|(_, args)| args.first().map(String::as_str))
        .collect();
    for task in ["init", "run", "info", "list", "doctor", "backup", "restore", "evidence"] {
        assert!(subcommands.contains(&task), "no `accord-node {task}` found in the manual: {commands:?}");
    }

    let refused: Vec<String> = commands
        .iter()
        .filter_map(|(program, args)| parses(program, args).err().map(|e| format!("{program} {}\n{e}", args.join(" "))))
        .collect();
    assert!(refused.is_empty(), "commands of docs/operating.md the binary refuses:\n{}", refused.join("\n"));
}

#[test]
fn a_renamed_flag_is_refused_by_the_check() {
    let documented = ["backup", "--data-dir", "/var/lib/accord", "--to", "/var/backups/accord/1"].map(String::from);
    assert_eq!(parses("accord-node", &documented), Ok(()));
    let renamed = ["backup", "--data-dir", "/var/lib/accord", "--into", "/var/backups/accord/1"].map(String::from);
    let refused = parses("accord-node", &renamed).expect_err("an unknown flag is refused before --help");
    assert!(refused.contains("--into"), "{refused}");
    let unknown = ["backups", "--data-dir", "/var/lib/accord"].map(String::from);
    assert!(parses("accord-node", &unknown).is_err(), "an unknown subcommand is refused");
}

#[test]
fn commands_are_read_from_shell_blocks_and_inline_code() {
    let text = "Run `accord-node list trust ISSUER` when\n\n```sh\nsudo -u accord accord-node backup \\\n    --data-dir /d --to /b/$(date +%F)   # nightly\nuseradd --system accord\n```\n";
    let found: Vec<_> = snippets(text).iter().filter_map(|s| invocation(s)).collect();
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        found,
        vec![
            ("accord-node".to_owned(), words(&["backup", "--data-dir", "/d", "--to", "/b/SUBSTITUTED"])),
            ("accord-node".to_owned(), words(&["list", "trust", "ISSUER"])),
        ]
    );
}
