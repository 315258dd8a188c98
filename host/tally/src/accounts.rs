//! `tally user …` and `tally token …`: local accounts and API tokens, on the database directly
//! (the operator at the machine is an administrator).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use tally_app::access::{self, Actor, Role, Scope};

use crate::cli::Global;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account. The password is read from standard input (one line), or asked for
    /// when standard input is a terminal.
    Add {
        name: String,
        /// administrator (everything) or viewer (read only).
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Change an account's role, or its password (read as for `add`) with --password.
    Edit {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
        /// Set a new password.
        #[arg(long)]
        password: bool,
    },
    /// Remove an account with its tokens and sessions.
    Remove { name: String },
    /// List the accounts.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make an API token acting as an account; the token is printed once, only its hash is kept.
    Create {
        /// The account it acts as (its role applies).
        #[arg(long, value_name = "NAME")]
        user: String,
        /// A label to recognise it by (`ci`, `grafana`, …).
        #[arg(long, value_name = "LABEL")]
        name: String,
        /// For an end-user agent rather than a script.
        #[arg(long)]
        agent: bool,
    },
    /// List the tokens: label, account, scope, when made and last used.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (`tally token list` shows them).
    Revoke { id: i64 },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse().map_err(|e: access::AccessError| e.to_string())
}

/// A password from standard input: asked for (twice, without echo) on a terminal, else the
/// first line.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("password: ").context("cannot read the password")?;
        let again = rpassword::prompt_password("again: ").context("cannot read the password")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub async fn user(global: &Global, command: UserCommand) -> anyhow::Result<ExitCode> {
    let app = global.app().await?;
    let operator = Actor::operator();
    match command {
        UserCommand::Add { name, role } => {
            let password = read_password()?;
            access::add_account(&app, &operator, &name, role, &password).await?;
            println!("added {role} `{name}`");
        }
        UserCommand::Edit {
            name,
            role,
            password,
        } => {
            let password = password.then(read_password).transpose()?;
            let account =
                access::edit_account(&app, &operator, &name, role, password.as_deref()).await?;
            println!("changed `{name}` ({})", account.role);
        }
        UserCommand::Remove { name } => {
            access::remove_account(&app, &operator, &name).await?;
            println!("removed `{name}` with its tokens");
        }
        UserCommand::List { json } => {
            let accounts = access::accounts(&app).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&accounts)?);
            } else {
                println!("{:<24} {:<14} CREATED", "NAME", "ROLE");
                for a in accounts {
                    println!(
                        "{:<24} {:<14} {}",
                        a.name,
                        a.role,
                        tally_core::time::rfc3339(a.created)
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(global: &Global, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let app = global.app().await?;
    let operator = Actor::operator();
    match command {
        TokenCommand::Create { user, name, agent } => {
            let scope = if agent { Scope::Agent } else { Scope::Api };
            let token = access::create_token(&app, &operator, &user, &name, scope).await?;
            eprintln!(
                "token {} `{name}` for `{user}` (shown once; keep it secret):",
                token.id
            );
            println!("{}", token.token);
        }
        TokenCommand::List { json } => {
            let tokens = access::tokens(&app).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                println!(
                    "{:>4} {:<20} {:<20} {:<6} {:<20} LAST USED",
                    "ID", "NAME", "USER", "SCOPE", "CREATED"
                );
                for t in tokens {
                    println!(
                        "{:>4} {:<20} {:<20} {:<6} {:<20} {}",
                        t.id,
                        t.name,
                        t.user,
                        t.scope,
                        tally_core::time::rfc3339(t.created),
                        t.last_used
                            .map(tally_core::time::rfc3339)
                            .unwrap_or_else(|| "never".into())
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            access::revoke_token(&app, &operator, id).await?;
            println!("revoked token {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
