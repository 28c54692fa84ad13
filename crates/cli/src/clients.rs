//! `rollcall clients …`: manage OAuth clients directly in the database.

use std::sync::Arc;

use anyhow::Result;
use clap::{Args, Subcommand};
use oneroster::SystemClock;
use rollcall_service::auth::NewClient;
use rollcall_service::{Rollcall, SigningKey};
use rollcall_store::ClientRecord;

use crate::config::{DatabaseArgs, Use, open_store_as};

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
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
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
    let store = open_store_as(&args.db, Use::Command).await?;
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
        ClientsCommand::List { json } => list(&store.clients().await?, json)?,
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

/// Clients as aligned columns under a header, or as JSON.
fn list(clients: &[ClientRecord], json: bool) -> Result<()> {
    let rows: Vec<[String; 4]> = clients
        .iter()
        .map(|c| {
            let state = if c.disabled { "disabled" } else { "enabled" };
            [
                c.client_id.clone(),
                c.name.clone(),
                state.to_owned(),
                c.scopes.join(" "),
            ]
        })
        .collect();
    if json {
        let items: Vec<_> = rows
            .iter()
            .zip(clients)
            .map(|([id, name, state, _], c)| serde_json::json!({"client_id": id, "name": name, "state": state, "scopes": c.scopes}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    let header = ["CLIENT_ID", "NAME", "STATE", "SCOPES"].map(str::to_owned);
    crate::table::print(&header, &rows)
}
