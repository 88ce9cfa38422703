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
        /// Whose reports: people (the queue, default), automated or all.
        #[arg(long, default_value = "people")]
        source: String,
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
    /// Adds an internal note to a case (private to moderators and the operator).
    Note {
        /// The case id.
        case: String,
        /// The note.
        #[arg(long)]
        text: String,
    },
    /// Assigns a case to a moderator account (none given: unassigns it);
    /// the node signs the assignment and logs it.
    Assign {
        /// The case id.
        case: String,
        /// The moderator account (acct1…).
        #[arg(long)]
        to: Option<String>,
    },
    /// Mutes a reporter of a case: its further reports are kept out of the queue.
    Mute {
        /// The reporter (acct1…).
        account: String,
        /// A case it reported.
        #[arg(long)]
        case: String,
        /// Why (in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lifts a reporter's mute.
    Unmute {
        /// The reporter (acct1…).
        account: String,
        /// Why (in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lists the muted reporters and how many of their reports were kept out.
    Muted,
    /// Lists appeals of this node's decisions.
    Appeals {
        /// Resolved appeals too.
        #[arg(long)]
        all: bool,
    },
    /// Upholds or overturns an appealed decision; the node signs it (not
    /// when the operator took the decision: `same_moderator`).
    ResolveAppeal {
        /// The appeal id.
        appeal: String,
        /// uphold or overturn.
        #[arg(long)]
        action: String,
        /// Why (in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// Moderator account commands.
#[derive(Subcommand)]
pub(crate) enum ModeratorsCommand {
    /// Lists the moderator accounts.
    List,
    /// Makes an account a moderator of this node, or changes its role and scope.
    Add {
        /// The account (acct1…).
        account: String,
        /// admin (acts on every case, assigns cases to anyone) or moderator (the default).
        #[arg(long)]
        role: Option<String>,
        /// For a moderator: the categories it acts on, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        categories: Vec<String>,
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
        "{}  {:<18} {:<8} reports {} ({} reporters){}{}  accused {}",
        text(c, "id"),
        text(c, "category"),
        text(c, "state"),
        text(c, "reports"),
        text(c, "reporters"),
        if c["quarantined"].as_bool() == Some(true) { "  QUARANTINED" } else { "" },
        if text(c, "source") == "automated" { "  AUTOMATED" } else { "" },
        accused.join(", ")
    );
    if let Some(m) = c.get("assigned").and_then(Value::as_str) {
        println!("    assigned to {m}");
    }
    if let Some(r) = c.get("resolution").filter(|r| !r.is_null()) {
        println!(
            "    resolved: {} by {} {} {}",
            text(r, "action"),
            text(r, "moderator"),
            r.get("list").and_then(Value::as_str).map(|l| format!("on {l}")).unwrap_or_default(),
            r.get("reason").and_then(Value::as_str).map(|l| format!("({l})")).unwrap_or_default(),
        );
        if r["overturned"].as_bool() == Some(true) {
            println!("    overturned on appeal");
        }
    }
}

fn print_receipt(json: bool, v: &Value) {
    print(json, v, |v| {
        println!("logged as audit action {}", text(v, "index"));
        for e in v["entries"].as_array().into_iter().flatten() {
            println!("  wrote {} entry {}", text(e, "list"), text(e, "index"));
        }
    });
}

fn print_muted(json: bool, v: &Value) {
    print(json, v, |v| {
        let muted = v["muted"].as_array().cloned().unwrap_or_default();
        if muted.is_empty() {
            println!("no muted reporters");
        }
        for m in &muted {
            println!(
                "{}  muted by {} on case {} (audit {}), {} reports kept out{}",
                text(m, "account"),
                text(m, "by"),
                text(m, "case"),
                text(m, "index"),
                text(m, "kept_out"),
                m.get("reason").and_then(Value::as_str).map(|r| format!(": {r}")).unwrap_or_default()
            );
        }
    });
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
        ReportsCommand::List { all, source } => {
            let state = if all { "all" } else { "open" };
            let v = admin.call(reqwest::Method::GET, &format!("/reports?state={state}&source={source}"), None).await?;
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
                for n in v["notes"].as_array().into_iter().flatten() {
                    println!("  note by {} at {}: {}", text(n, "author"), text(n, "ts"), text(n, "text"));
                }
            });
        }
        ReportsCommand::Note { case, text: note } => {
            let v = admin
                .call(reqwest::Method::POST, &format!("/reports/{case}/notes"), Some(json!({"text": note})))
                .await?;
            print(target.json, &v, |v| println!("{} notes on the case", v["notes"].as_array().map_or(0, Vec::len)));
        }
        ReportsCommand::Assign { case, to } => {
            let v = admin
                .call(reqwest::Method::POST, &format!("/reports/{case}/assign"), Some(json!({"account": to})))
                .await?;
            print_receipt(target.json, &v);
        }
        ReportsCommand::Mute { account, case, reason } => {
            let body = json!({"account": account, "case": case, "reason": reason});
            print_muted(target.json, &admin.call(reqwest::Method::POST, "/reporters/mute", Some(body)).await?);
        }
        ReportsCommand::Unmute { account, reason } => {
            let body = json!({"account": account, "reason": reason});
            print_muted(target.json, &admin.call(reqwest::Method::POST, "/reporters/unmute", Some(body)).await?);
        }
        ReportsCommand::Muted => {
            print_muted(target.json, &admin.call(reqwest::Method::GET, "/reporters/muted", None).await?);
        }
        ReportsCommand::Appeals { all } => {
            let path = if all { "/appeals?state=all" } else { "/appeals" };
            let v = admin.call(reqwest::Method::GET, path, None).await?;
            print(target.json, &v, |v| {
                let appeals = v["appeals"].as_array().cloned().unwrap_or_default();
                if appeals.is_empty() {
                    println!("no appeals");
                }
                for a in &appeals {
                    println!(
                        "{}  {:<10} case {} by {} (decided by {}): {}",
                        text(a, "id"),
                        text(a, "state"),
                        text(a, "case"),
                        text(a, "account"),
                        text(a, "decided_by"),
                        text(a, "reason")
                    );
                }
            });
        }
        ReportsCommand::ResolveAppeal { appeal, action, reason } => {
            let body = json!({"action": action, "reason": reason});
            let v = admin.call(reqwest::Method::POST, &format!("/appeals/{appeal}/resolve"), Some(body)).await?;
            print_receipt(target.json, &v);
        }
        ReportsCommand::Resolve { case, action, list, reason, days } => {
            let body = json!({"action": action, "list": list, "reason": reason, "days": days});
            let v = admin.call(reqwest::Method::POST, &format!("/reports/{case}/resolve"), Some(body)).await?;
            print_receipt(target.json, &v);
        }
    }
    Ok(())
}

/// Runs a moderators command.
pub(crate) async fn moderators(target: Target, command: ModeratorsCommand) -> anyhow::Result<()> {
    let admin = Admin::new(&DataDir::new(&target.data_dir))?;
    let v = match command {
        ModeratorsCommand::List => admin.call(reqwest::Method::GET, "/moderators", None).await?,
        ModeratorsCommand::Add { account, role, categories } => {
            let mut body = json!({"account": account});
            if let Some(role) = role {
                body["role"] = json!(role);
            }
            if !categories.is_empty() {
                body["categories"] = json!(categories);
            }
            admin.call(reqwest::Method::POST, "/moderators", Some(body)).await?
        }
        ModeratorsCommand::Remove { account } => {
            admin.call(reqwest::Method::POST, "/moderators/remove", Some(json!({"account": account}))).await?
        }
    };
    print(target.json, &v, |v| {
        for m in v["moderators"].as_array().into_iter().flatten() {
            let scope = m["categories"].as_array().map(|c| {
                let names: Vec<&str> = c.iter().filter_map(Value::as_str).collect();
                format!("  categories {}", names.join(","))
            });
            println!(
                "{}  {} ({}){}",
                text(m, "account"),
                text(m, "role"),
                text(m, "source"),
                scope.unwrap_or_default()
            );
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
