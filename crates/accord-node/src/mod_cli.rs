//! `accord-node reports …`, `moderators …`, `audit …`: the operator's
//! moderation commands, sent to the running node's admin endpoint
//! (spec/reports.md §12).

use crate::admin_cli::{Admin, Target, print};
use accord_node::DataDir;
use accord_proto::audit::AuditLog;
use anyhow::Context as _;
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::PathBuf;

/// Report queue commands.
#[derive(Subcommand)]
pub(crate) enum ReportsCommand {
    /// Lists the queue: most severe category first, then oldest.
    List {
        /// Resolved cases too.
        #[arg(long)]
        all: bool,
    },
    /// Shows a case: its reports, verified evidence and context.
    Show {
        /// The case id.
        case: String,
    },
    /// Resolves a case; the node signs the action and logs it.
    Resolve {
        /// The case id.
        case: String,
        /// dismiss, hide, suspend or block.
        #[arg(long)]
        action: String,
        /// The list (issued here) the entries go to (hide, suspend, block).
        #[arg(long)]
        list: Option<String>,
        /// Why (shown in the audit log and the list entries).
        #[arg(long)]
        reason: Option<String>,
        /// For suspend: how many days.
        #[arg(long)]
        days: Option<u64>,
    },
}

/// Moderator account commands.
#[derive(Subcommand)]
pub(crate) enum ModeratorsCommand {
    /// Lists the moderator accounts.
    List,
    /// Makes an account a moderator of this node.
    Add {
        /// The account (acct1…).
        account: String,
    },
    /// Removes a moderator added with `add`.
    Remove {
        /// The account (acct1…).
        account: String,
    },
}

/// Audit log commands.
#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Writes the signed audit log (JSON) to stdout or a file.
    Export {
        /// The file to write.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verifies the node's stored audit log, or an exported file.
    Verify {
        /// An exported log to verify instead of the running node's.
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn print_case_line(c: &Value) {
    let accused: Vec<&str> = c["accused"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    println!(
        "{}  {:<18} {:<8} reports {} ({} reporters){}  accused {}",
        text(c, "id"),
        text(c, "category"),
        text(c, "state"),
        text(c, "reports"),
        text(c, "reporters"),
        if c["quarantined"].as_bool() == Some(true) { "  QUARANTINED" } else { "" },
        accused.join(", ")
    );
    if let Some(r) = c.get("resolution").filter(|r| !r.is_null()) {
        println!(
            "    resolved: {} by {} {} {}",
            text(r, "action"),
            text(r, "moderator"),
            r.get("list").and_then(Value::as_str).map(|l| format!("on {l}")).unwrap_or_default(),
            r.get("reason").and_then(Value::as_str).map(|l| format!("({l})")).unwrap_or_default(),
        );
    }
}

/// One event of a case, verified again here: author and what it says.
fn print_event(e: &Value) {
    let event = serde_json::from_value::<accord_proto::event::UnverifiedEvent>(e.clone()).ok().map(|e| e.verify());
    match event {
        Some(Ok(event)) => {
            let what = match event.content() {
                accord_proto::event::EventContent::Message { text, .. } => format!("\"{}\"", text.as_str()),
                other => format!("* {}", other.kind()),
            };
            println!("    {}  {}: {what}", event.id(), event.author());
        }
        Some(Err(err)) => println!("    an event that does not verify: {err}"),
        None => println!("    an event that does not parse"),
    }
}

/// Runs a reports command.
pub(crate) async fn reports(target: Target, command: ReportsCommand) -> anyhow::Result<()> {
    let admin = Admin::new(&DataDir::new(&target.data_dir))?;
    match command {
        ReportsCommand::List { all } => {
            let v = admin.call(reqwest::Method::GET, if all { "/reports?state=all" } else { "/reports" }, None).await?;
            print(target.json, &v, |v| {
                let cases = v["cases"].as_array().cloned().unwrap_or_default();
                if cases.is_empty() {
                    println!("no cases");
                }
                for c in &cases {
                    print_case_line(c);
                }
            });
        }
        ReportsCommand::Show { case } => {
            let v = admin.call(reqwest::Method::GET, &format!("/reports/{case}"), None).await?;
            print(target.json, &v, |v| {
                print_case_line(&v["case"]);
                for r in v["reports"].as_array().into_iter().flatten() {
                    println!(
                        "  report {} by {} ({}), from {}: {}",
                        text(r, "id"),
                        text(r, "reporter"),
                        text(r, "category"),
                        text(r, "from"),
                        r.get("comment").and_then(Value::as_str).unwrap_or("")
                    );
                }
                println!("  evidence (verified):");
                v["evidence"].as_array().into_iter().flatten().for_each(print_event);
                println!("  context (verified):");
                v["context"].as_array().into_iter().flatten().for_each(print_event);
            });
        }
        ReportsCommand::Resolve { case, action, list, reason, days } => {
            let body = json!({"action": action, "list": list, "reason": reason, "days": days});
            let v = admin.call(reqwest::Method::POST, &format!("/reports/{case}/resolve"), Some(body)).await?;
            print(target.json, &v, |v| {
                println!("logged as audit action {}", text(v, "index"));
                for e in v["entries"].as_array().into_iter().flatten() {
                    println!("  wrote {} entry {}", text(e, "list"), text(e, "index"));
                }
            });
        }
    }
    Ok(())
}

/// Runs a moderators command.
pub(crate) async fn moderators(target: Target, command: ModeratorsCommand) -> anyhow::Result<()> {
    let admin = Admin::new(&DataDir::new(&target.data_dir))?;
    let v = match command {
        ModeratorsCommand::List => admin.call(reqwest::Method::GET, "/moderators", None).await?,
        ModeratorsCommand::Add { account } => {
            admin.call(reqwest::Method::POST, "/moderators", Some(json!({"account": account}))).await?
        }
        ModeratorsCommand::Remove { account } => {
            admin.call(reqwest::Method::POST, "/moderators/remove", Some(json!({"account": account}))).await?
        }
    };
    print(target.json, &v, |v| {
        for m in v["moderators"].as_array().into_iter().flatten() {
            println!("{}  ({})", text(m, "account"), text(m, "source"));
        }
    });
    Ok(())
}

/// Runs an audit command.
pub(crate) async fn audit(target: Target, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Export { out } => {
            let admin = Admin::new(&DataDir::new(&target.data_dir))?;
            let v = admin.call(reqwest::Method::GET, "/audit", None).await?;
            let text = serde_json::to_string_pretty(&v)?;
            match out {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
                None => println!("{text}"),
            }
        }
        AuditCommand::Verify { file: Some(path) } => {
            let log: AuditLog = serde_json::from_slice(&std::fs::read(&path)?)
                .with_context(|| format!("{} is not an audit log export", path.display()))?;
            let (head, actions) = log.verify().map_err(|e| anyhow::anyhow!("does not verify: {e} ({})", e.code()))?;
            println!("ok: {} actions by node {}, root {}", actions.len(), head.node, head.root);
        }
        AuditCommand::Verify { file: None } => {
            let admin = Admin::new(&DataDir::new(&target.data_dir))?;
            let v = admin.call(reqwest::Method::GET, "/audit/verify", None).await?;
            print(target.json, &v, |v| println!("ok: {} actions, root {}", text(v, "size"), text(v, "root")));
        }
    }
    Ok(())
}
