//! `rollcall clients …`: manage OAuth clients directly in the database.

use std::sync::Arc;

use anyhow::Result;
use clap::{Args, Subcommand};
use oneroster::SystemClock;
use rollcall_service::auth::NewClient;
use rollcall_service::{Rollcall, SigningKey};

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
    /// Replace a client's secret; prints the new one once. Tokens issued
    /// under the old secret stop working on every running server within seconds.
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop issuing tokens to a client; the tokens it holds stop working
    /// on every running server within seconds.
    Disable { client_id: String },
    /// Issue tokens to a disabled client again (its old tokens stay revoked).
    Enable { client_id: String },
    /// Delete a client; its tokens stop working on every running server within seconds.
    Delete { client_id: String },
}

pub async fn run(args: ClientsArgs) -> Result<()> {
    let store = open_store(&args.db).await?;
    // Managing clients never signs tokens, so any key will do.
    let auth = Rollcall::new(store.clone(), Arc::new(SystemClock), &SigningKey::generate()).auth;
    match args.command {
        ClientsCommand::Create { name, scopes, json } => {
            let scopes: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
            print_credentials(&auth.create_client(&name, &scopes).await?, json)?;
        }
        ClientsCommand::RotateSecret { client_id, json } => {
            print_credentials(&auth.rotate_secret(&client_id).await?, json)?;
        }
        ClientsCommand::Disable { client_id } => auth.set_disabled(&client_id, true).await?,
        ClientsCommand::Enable { client_id } => auth.set_disabled(&client_id, false).await?,
        ClientsCommand::List => {
            for c in store.clients().await? {
                let state = if c.disabled { "disabled" } else { "enabled" };
                println!("{}\t{}\t{}\t{}", c.client_id, c.name, state, c.scopes.join(" "));
            }
        }
        ClientsCommand::Delete { client_id } => auth.delete_client(&client_id).await?,
    }
    Ok(())
}

fn print_credentials(client: &NewClient, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(client)?);
    } else {
        println!(
            "client_id:     {}\nclient_secret: {}\n(the secret is shown only once)",
            client.client_id, client.client_secret
        );
    }
    Ok(())
}
