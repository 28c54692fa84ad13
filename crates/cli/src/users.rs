//! `rollcall users …`: manage users on a running server through the SDK, as
//! an operator or a shell script would. It talks HTTP with OAuth client
//! credentials rather than opening the database, so it works against any
//! deployment (and any OneRoster server) the client is allowed on, and goes
//! through the same validation, hashing and scopes as every other client.

use std::io::{Read, Write};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use rollcall_client::{Client, ListParams, Order};
use serde_json::Value;

#[derive(Args)]
pub struct UsersArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: UsersCommand,
}

/// Where the server is and who we are; accepted before or after the subcommand.
#[derive(Args)]
struct Connection {
    /// Base URL of the Rollcall server.
    #[arg(
        long,
        env = "ROLLCALL_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    server: String,
    /// OAuth client id.
    #[arg(long, env = "ROLLCALL_CLIENT_ID", global = true)]
    client_id: Option<String>,
    /// OAuth client secret (prefer the variable: flags are visible to other local users).
    #[arg(long, env = "ROLLCALL_CLIENT_SECRET", hide_env_values = true, global = true)]
    client_secret: Option<String>,
}

impl Connection {
    fn client(&self) -> Result<Client> {
        let id = self
            .client_id
            .as_deref()
            .context("no client id: pass --client-id or set ROLLCALL_CLIENT_ID")?;
        let secret = self
            .client_secret
            .as_deref()
            .context("no client secret: set ROLLCALL_CLIENT_SECRET or pass --client-secret")?;
        Ok(Client::new(&self.server, id, secret)?)
    }
}

#[derive(Subcommand)]
enum UsersCommand {
    /// List users: one page, or every page with --all.
    List(ListArgs),
    /// Show one user.
    Get {
        id: String,
        /// Only these comma-separated fields.
        #[arg(long)]
        fields: Option<String>,
        /// Print the user as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a user from a JSON object; prints the sourcedId it is stored under.
    Create {
        /// A file holding the user, or - for standard input.
        #[arg(long, value_name = "FILE_OR_-")]
        json: String,
    },
    /// Replace a user (PUT) from a JSON object, or with --patch change only the fields sent.
    Update {
        id: String,
        /// A file holding the user (or the changes), or - for standard input.
        #[arg(long, value_name = "FILE_OR_-")]
        json: String,
        /// Send a PATCH: fields not in the JSON keep their values, `null` clears one.
        #[arg(long)]
        patch: bool,
    },
    /// Soft-delete a user: it stays readable with status tobedeleted.
    Delete { id: String },
}

#[derive(Args)]
struct ListArgs {
    /// A OneRoster filter, e.g. "roles.role='teacher' AND familyName~'le'".
    #[arg(long)]
    filter: Option<String>,
    /// The field to sort by.
    #[arg(long)]
    sort: Option<String>,
    /// asc or desc.
    #[arg(long, value_name = "asc|desc")]
    order_by: Option<Order>,
    /// Only these comma-separated fields.
    #[arg(long)]
    fields: Option<String>,
    /// Free-text search over names and email.
    #[arg(long)]
    search: Option<String>,
    /// Page size (server default 100).
    #[arg(long)]
    limit: Option<u32>,
    #[arg(long)]
    offset: Option<u64>,
    /// Follow every page (from --offset on, --limit per request).
    #[arg(long)]
    all: bool,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: UsersArgs) -> Result<()> {
    let client = args.connection.client()?;
    match args.command {
        UsersCommand::List(list) => list_users(&client, list).await,
        UsersCommand::Get { id, fields, json } => {
            let user: Value = client.get("users", "user", &id, fields.as_deref()).await?;
            if json {
                print_json(&user)
            } else {
                print_table(&[user], fields.as_deref())
            }
        }
        UsersCommand::Create { json } => {
            let pair = client.create_user(&read_user(&json)?).await?;
            writeln!(std::io::stdout(), "{}", pair.allocated_sourced_id)?;
            Ok(())
        }
        UsersCommand::Update { id, json, patch } => {
            let user = read_user(&json)?;
            let stored: Value = if patch {
                client.patch("users", "user", &id, &user).await?
            } else {
                client.replace("users", "user", &id, &user).await?
            };
            print_table(&[stored], None)
        }
        UsersCommand::Delete { id } => {
            client.delete_user(&id).await?;
            eprintln!("user '{id}' is now tobedeleted");
            Ok(())
        }
    }
}

async fn list_users(client: &Client, args: ListArgs) -> Result<()> {
    let columns = args.fields.clone();
    let params = ListParams {
        limit: args.limit,
        offset: args.offset,
        sort: args.sort,
        order_by: args.order_by,
        filter: args.filter,
        fields: args.fields,
        search: args.search,
    };
    let (users, total) = if args.all {
        let users: Vec<Value> = client.stream("users", &params).try_collect().await?;
        let total = users.len() as u64;
        (users, Some(total))
    } else {
        let page = client.list::<Value>("users", &params).await?;
        (page.items, page.total)
    };
    if args.json {
        return print_json(&Value::Array(users));
    }
    print_table(&users, columns.as_deref())?;
    if let Some(total) = total.filter(|t| *t > users.len() as u64) {
        eprintln!("{} of {total} users (--all for every page)", users.len());
    }
    Ok(())
}

/// The user in `source` (a path, or `-` for stdin). The API envelope
/// `{"user": {…}}`, as in the API examples, is accepted too.
fn read_user(source: &str) -> Result<Value> {
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading stdin")?;
        text
    } else {
        std::fs::read_to_string(source).with_context(|| format!("reading {source}"))?
    };
    let value: Value = serde_json::from_str(&text).with_context(|| format!("{source} is not valid JSON"))?;
    let Value::Object(mut object) = value else {
        bail!("{source}: expected a JSON object (one user)");
    };
    if object.len() == 1 && object.get("user").is_some_and(Value::is_object) {
        return Ok(object.remove("user").unwrap_or_default());
    }
    Ok(Value::Object(object))
}

fn print_json(value: &Value) -> Result<()> {
    writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

/// The columns shown when `--fields` does not choose them.
const COLUMNS: [&str; 6] = ["sourcedId", "status", "givenName", "familyName", "email", "roles"];

/// Aligned columns, one user per row: the `--fields` chosen, in their
/// order, or the usual ones.
fn print_table(users: &[Value], fields: Option<&str>) -> Result<()> {
    let columns: Vec<String> = match fields {
        Some(fields) => fields
            .split(',')
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect(),
        None => COLUMNS.map(str::to_owned).to_vec(),
    };
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| columns.iter().map(|c| cell(u, c)).collect())
        .collect();
    crate::table::print(&columns, &rows)
}

fn cell(user: &Value, column: &str) -> String {
    match (column, user.get(column)) {
        ("roles", Some(Value::Array(roles))) => roles
            .iter()
            .filter_map(|r| r.get("role").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(","),
        (_, Some(Value::String(s))) => s.clone(),
        (_, None | Some(Value::Null)) => String::new(),
        (_, Some(other)) => other.to_string(),
    }
}
