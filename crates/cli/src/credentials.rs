//! `rollcall credentials reseal`: the last step of a credentials key
//! rotation, after which the old keys can leave the configuration.

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::config::{CredentialKeyArgs, DatabaseArgs, open_store};

#[derive(Args)]
pub struct CredentialsArgs {
    #[command(subcommand)]
    command: CredentialsCommand,
}

#[derive(Subcommand)]
enum CredentialsCommand {
    /// Seal every credential sealed under an old key again under the current
    /// one (ROLLCALL_CREDENTIALS_KEY, or the kept key), with the old keys in
    /// ROLLCALL_CREDENTIALS_OLD_KEYS.
    Reseal {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        keys: CredentialKeyArgs,
    },
}

pub async fn run(args: CredentialsArgs) -> Result<()> {
    match args.command {
        CredentialsCommand::Reseal { db, keys } => {
            let store = open_store(&db).await?;
            let resealed = keys.credentials(store)?.reseal().await?;
            println!("resealed {resealed} credentials under the current key");
            Ok(())
        }
    }
}
