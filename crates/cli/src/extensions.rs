//! `rollcall extensions …`: declare typed extension fields directly in the
//! database (as `POST /admin/extensions/{resource}` does). Running servers
//! see a change within `rollcall_service::extensions::REFRESH_AFTER`.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use oneroster::SystemClock;
use oneroster::extension::{ExtensionField, ExtensionType};
use rollcall_service::{Extensions, Rollcall, SigningKey};

use crate::config::{DatabaseArgs, Use, open_store_as};

#[derive(Args)]
pub struct ExtensionsArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(subcommand)]
    command: ExtensionsCommand,
}

#[derive(Subcommand)]
enum ExtensionsCommand {
    /// Declare a field: records carry it at `metadata.ext.<name>`.
    Add {
        /// The collection it extends, e.g. users.
        resource: String,
        name: String,
        /// string, integer, number, boolean, date, datetime or enum.
        #[arg(long = "type")]
        kind: String,
        /// An enum's allowed values, comma-separated.
        #[arg(long, value_delimiter = ',')]
        values: Vec<String>,
        /// No two records may share a value (a unique index).
        #[arg(long)]
        unique: bool,
        /// Keep the field in an index, for fast filters and sorts.
        #[arg(long)]
        indexed: bool,
        /// Refuse writes that leave it out.
        #[arg(long)]
        required: bool,
    },
    /// List the declared fields.
    List {
        /// Only this collection's.
        resource: Option<String>,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a declaration and its index (stored values stay).
    Remove { resource: String, name: String },
}

pub async fn run(args: ExtensionsArgs) -> Result<()> {
    let store = open_store_as(&args.db, Use::Command).await?;
    // Declaring fields never signs tokens, so any key will do.
    let extensions: Extensions = Rollcall::new(store, Arc::new(SystemClock), &SigningKey::generate())
        .engine
        .extensions()
        .clone();
    match args.command {
        ExtensionsCommand::Add {
            resource,
            name,
            kind,
            values,
            unique,
            indexed,
            required,
        } => {
            let kind = ExtensionType::parse(&kind).ok_or_else(|| {
                let types: Vec<&str> = ExtensionType::ALL.iter().map(|t| t.as_str()).collect();
                anyhow!("unknown type '{kind}'; one of: {}", types.join(", "))
            })?;
            let field = ExtensionField {
                resource,
                name,
                kind,
                values,
                unique,
                indexed,
                required,
            };
            let field = extensions.declare(field).await?;
            println!("declared {} on {}", field.path(), field.resource);
        }
        ExtensionsCommand::List { resource, json } => {
            let set = extensions.reload().await?;
            let fields: Vec<&ExtensionField> = set
                .all()
                .iter()
                .filter(|f| resource.as_ref().is_none_or(|r| *r == f.resource))
                .collect();
            list(&fields, json)?;
        }
        ExtensionsCommand::Remove { resource, name } => extensions.remove(&resource, &name).await?,
    }
    Ok(())
}

fn list(fields: &[&ExtensionField], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(fields)?);
        return Ok(());
    }
    let flag = |on: bool, name: &str| if on { name.to_owned() } else { String::new() };
    let rows: Vec<[String; 5]> = fields
        .iter()
        .map(|f| {
            let options = [
                flag(f.unique, "unique"),
                flag(f.indexed, "indexed"),
                flag(f.required, "required"),
            ];
            [
                f.resource.clone(),
                f.path(),
                f.kind.as_str().to_owned(),
                f.values.join(","),
                options
                    .iter()
                    .filter(|o| !o.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let header = ["RESOURCE", "FIELD", "TYPE", "VALUES", "OPTIONS"].map(str::to_owned);
    crate::table::print(&header, &rows)
}
