//! `rollcall clients …`: manage OAuth clients directly in the database.

use std::sync::Arc;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use oneroster::SystemClock;
use rollcall_service::Rollcall;

use crate::config::{DatabaseArgs, open_store};

#[derive(Args)]
pub struct ClientsArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(subcommand)]
    command: ClientsCommand,
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Create a client; prints its id and secret once.
    Create {
        #[arg(long)]
        name: String,
        /// Space-separated scopes (short names or full URIs), e.g. "roster.readonly".
        #[arg(long)]
        scopes: String,
        /// Print `{"client_id", "client_secret"}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List clients (never their secrets).
    List,
    /// Delete a client.
    Delete { client_id: String },
}

pub async fn run(args: ClientsArgs) -> Result<()> {
    let store = open_store(&args.db.database_url)?;
    match args.command {
        ClientsCommand::Create { name, scopes, json } => {
            // The signing key is not needed to create clients.
            let rollcall = Rollcall::new(store, Arc::new(SystemClock), Vec::new());
            let scopes: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
            let client = rollcall.auth.create_client(&name, &scopes).await?;
            if json {
                println!("{}", serde_json::to_string(&client)?);
            } else {
                println!(
                    "client_id:     {}\nclient_secret: {}\n(the secret is shown only once)",
                    client.client_id, client.client_secret
                );
            }
        }
        ClientsCommand::List => {
            for c in store.clients().await? {
                let state = if c.disabled { "disabled" } else { "enabled" };
                println!("{}\t{}\t{}\t{}", c.client_id, c.name, state, c.scopes.join(" "));
            }
        }
        ClientsCommand::Delete { client_id } => {
            if !store.delete_client(&client_id).await? {
                bail!("no client '{client_id}'");
            }
        }
    }
    Ok(())
}
