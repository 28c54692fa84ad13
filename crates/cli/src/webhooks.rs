//! `rollcall webhooks …`: manage webhook subscriptions directly in the
//! database, as `clients` does OAuth clients. The secret is sealed with the
//! credentials keys, so this command takes the server's
//! `ROLLCALL_CREDENTIALS_KEY` (and old keys) too.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use oneroster::SystemClock;
use rollcall_service::Webhooks;
use rollcall_service::webhooks::{NewWebhook, to_json};
use serde_json::{Value, json};

use crate::config::{CredentialKeyArgs, DatabaseArgs, Use, open_store_as};

#[derive(Args)]
pub struct WebhooksArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    keys: CredentialKeyArgs,
    #[command(subcommand)]
    command: WebhooksCommand,
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// Subscribe a URL to the change feed; prints the subscription and its
    /// signing secret, shown only once.
    Add {
        url: String,
        /// Resource types (collection names, e.g. users,classes); default all.
        #[arg(long, value_delimiter = ',')]
        resources: Vec<String>,
        /// Operations: create, update, delete; default all.
        #[arg(long, value_delimiter = ',')]
        operations: Vec<String>,
        /// A OneRoster filter the record must meet (one resource type only).
        #[arg(long)]
        filter: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every subscription and where its deliveries stand.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One subscription, in full.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a subscription.
    Remove { id: String },
    /// Deliver again to a failed or paused subscription, from where it stopped.
    Resume { id: String },
    /// Stop delivering to a subscription until it is resumed.
    Pause { id: String },
    /// Replace a subscription's signing secret; prints the new one once.
    RotateSecret { id: String },
}

pub async fn run(args: WebhooksArgs) -> Result<()> {
    let store = open_store_as(&args.db, Use::Command).await?;
    let credentials = args.keys.credentials(store.clone())?;
    let webhooks = Webhooks::new(store, Arc::new(SystemClock), credentials);
    match args.command {
        WebhooksCommand::Add {
            url,
            resources,
            operations,
            filter,
            json,
        } => {
            let body = json!({ "url": url, "resources": resources, "operations": operations, "filter": filter });
            let new = NewWebhook::from_json(&body).map_err(|e| anyhow!(e))?;
            let created = webhooks.create(new).await?;
            let mut shown = to_json(&created.webhook);
            shown["secret"] = created.secret.clone().into();
            if json {
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                println!(
                    "id:     {}\nsecret: {}\n(the secret is shown only once)",
                    created.webhook.id, created.secret
                );
            }
        }
        WebhooksCommand::List { json } => {
            let all: Vec<Value> = webhooks.list().await?.iter().map(to_json).collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                table(&all)?;
            }
        }
        WebhooksCommand::Show { id, json } => {
            let shown = to_json(&webhooks.get(&id).await?);
            if json {
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                for (key, value) in shown.as_object().expect("an object") {
                    println!("{key:<16}{}", cell(value));
                }
            }
        }
        WebhooksCommand::Remove { id } => webhooks.remove(&id).await?,
        WebhooksCommand::Resume { id } => println!("{}", webhooks.resume(&id).await?.state.status.as_str()),
        WebhooksCommand::Pause { id } => println!("{}", webhooks.pause(&id).await?.state.status.as_str()),
        WebhooksCommand::RotateSecret { id } => {
            println!(
                "secret: {}\n(the secret is shown only once)",
                webhooks.rotate_secret(&id).await?
            );
        }
    }
    Ok(())
}

/// The state table: one row per subscription.
fn table(all: &[Value]) -> Result<()> {
    const COLUMNS: [(&str, &str); 7] = [
        ("ID", "id"),
        ("URL", "url"),
        ("STATUS", "status"),
        ("ATTEMPTS", "attempts"),
        ("DELIVERED_UP_TO", "deliveredUpTo"),
        ("LAST_DELIVERY", "lastDeliveryAt"),
        ("LAST_ERROR", "lastError"),
    ];
    let header = COLUMNS.map(|(h, _)| h.to_owned());
    let rows: Vec<[String; 7]> = all.iter().map(|w| COLUMNS.map(|(_, key)| cell(&w[key]))).collect();
    crate::table::print(&header, &rows)
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "(all)".to_owned(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}
