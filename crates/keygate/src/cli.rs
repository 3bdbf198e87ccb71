//! The `keygate` command line: `serve`, `migrate`, `bootstrap`, `token ...`, `user ...` and
//! `config check`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use keygate_domain::{ClearToken, Email, RateLimits, Token, User, UserKind};
use serde_json::json;
use uuid::Uuid;

use crate::config::{Config, Overrides};
use crate::http::rest::admin::json::{AdminUserJson, CreatedUserJson, user_json};
use crate::http::rest::tokens::json::{TokenJson, TokenWithSecretJson};
use crate::http::rest::workspaces::json::workspace_json;
use crate::service::{
    Actor, Bootstrap, Clock, Expiry, Keygate, MAX_USER_PAGE, NewTokenRequest, NewUserRequest,
    ServiceError, UserQuery,
};
use crate::startup::{Application, services};
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "keygate",
    version,
    about = "Accounts, roles and access tokens for your platform's API",
    long_about = "Keygate issues and verifies API tokens. Configuration comes from flags, then \
                  KEYGATE_* environment variables, then keygate.toml, then defaults."
)]
pub struct Cli {
    /// Configuration file [default: keygate.toml when present]
    #[arg(long, global = true, env = "KEYGATE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Database URL: sqlite://PATH or postgres://... [default: sqlite://keygate.db]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (applies pending migrations first)
    Serve(ServeArgs),
    /// Apply pending database migrations and exit
    Migrate,
    /// Create the first user (an instance admin), optionally their workspace, and print their
    /// personal token once
    Bootstrap(BootstrapArgs),
    /// Manage a user's tokens directly on the database, as an operator
    #[command(subcommand)]
    Token(TokenCommand),
    /// Administer users directly on the database, as an operator
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Email of the user to create
    #[arg(long)]
    pub email: String,
    /// Slug of a workspace to create with the user as its owner
    #[arg(long, value_name = "SLUG")]
    pub workspace: Option<String>,
    /// Read the user's password (for the web UI) from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Print the result as JSON: {"user", "workspace", "token"}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    #[command(flatten)]
    Owned(OwnedTokenCommand),
    /// Tell whether a string is a well-formed token of this deployment's format, and its kind,
    /// offline: no database, nothing sent (exit status 1 when it is not)
    Check(TokenCheckArgs),
}

/// What an operator does to a user's tokens, on the database.
#[derive(Debug, Subcommand)]
pub enum OwnedTokenCommand {
    /// Create a token for a user and print it once
    Create(TokenCreateArgs),
    /// List a user's tokens (hints only)
    List(UserArgs),
    /// Revoke one of a user's tokens at once
    Revoke(TokenIdArgs),
    /// Give one of a user's tokens a new secret and print it once; the old secret stops working
    /// at once, or with --grace-seconds that long after the new secret's first use
    Rotate(TokenRotateArgs),
}

#[derive(Debug, Args)]
pub struct TokenCheckArgs {
    /// The string to check (a token found somewhere)
    pub token: String,
}

#[derive(Debug, Args)]
pub struct TokenRotateArgs {
    #[command(flatten)]
    pub token: TokenIdArgs,
    /// How long the old secret keeps working after the new one's first use (at most 86400)
    #[arg(long, default_value_t = 0)]
    pub grace_seconds: u32,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    /// Email of the user who owns the tokens
    #[arg(long, value_name = "EMAIL")]
    pub user: String,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    #[command(flatten)]
    pub owner: UserArgs,
    /// Name shown in listings
    #[arg(long)]
    pub name: Option<String>,
    /// What the token is for
    #[arg(long)]
    pub description: Option<String>,
    /// Days until the token expires
    #[arg(
        long,
        value_name = "DAYS",
        conflicts_with = "expires_at",
        allow_negative_numbers = true
    )]
    pub expires_in_days: Option<i64>,
    /// Moment the token expires (RFC 3339, e.g. 2027-01-31T00:00:00Z)
    #[arg(long, value_name = "TIME")]
    pub expires_at: Option<DateTime<Utc>>,
    /// A network (10.0.0.0/8) or address the token may be used from; repeat for more. Without
    /// it, anywhere
    #[arg(long = "allowed-ip", value_name = "CIDR")]
    pub allowed_ips: Vec<String>,
    /// A rate limit, `NAME LIMIT/SECONDS` (e.g. "default 100/60"); repeat for more. Without it,
    /// no limit
    #[arg(long = "rate-limit", value_name = "LIMIT")]
    pub rate_limits: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TokenIdArgs {
    #[command(flatten)]
    pub owner: UserArgs,
    /// Id of the token
    pub id: Uuid,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a person's account and print their personal token once
    Create(UserCreateArgs),
    /// List users
    List(UserListArgs),
    /// Disable a user: their tokens and sign-ins stop working at once
    Disable(UserRefArgs),
    /// Enable a disabled user
    Enable(UserRefArgs),
    /// Delete a user with their tokens and memberships
    Delete(UserRefArgs),
}

#[derive(Debug, Args)]
pub struct UserCreateArgs {
    /// Email of the user to create
    #[arg(long)]
    pub email: String,
    /// Display name [default: the local part of the email]
    #[arg(long)]
    pub name: Option<String>,
    /// Slug of a workspace to create with the user as its owner
    #[arg(long, value_name = "SLUG")]
    pub workspace: Option<String>,
    /// Read the user's password (for the web UI) from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Make the user an instance admin
    #[arg(long)]
    pub instance_admin: bool,
    /// Also print a one-time link with which the person sets their own password (valid 7
    /// days), under `public_url` (or http://BIND)
    #[arg(long, conflicts_with = "password_stdin")]
    pub password_link: bool,
    /// Print the result as JSON: {"user", "workspace", "personal_token", "password_link"}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UserListArgs {
    /// Only people (human) or only API users (api)
    #[arg(long, value_parser = ["human", "api"])]
    pub kind: Option<String>,
    /// Only users whose email or name contains this text
    #[arg(long)]
    pub search: Option<String>,
    /// Only disabled users
    #[arg(long)]
    pub disabled: bool,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UserRefArgs {
    /// The user's email or id
    pub user: String,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration, then print it with secrets hidden
    Check,
}

/// Runs the command; an error is printed by `main` and exits with status 1.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        bind: match &cli.command {
            Command::Serve(args) => args.bind,
            _ => None,
        },
        database_url: cli.database_url.clone(),
    };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    if !matches!(cli.command, Command::Config(_)) {
        telemetry::init(&config.log, config.log_format);
    }
    match cli.command {
        Command::Serve(_) => {
            let app = Application::build(&config).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            services(&config, Clock::default()).await?;
            println!("migrations applied");
        }
        Command::Bootstrap(args) => {
            let keygate = services(&config, Clock::default()).await?;
            bootstrap(&keygate, args).await?;
        }
        Command::Token(TokenCommand::Check(args)) => {
            return Ok(check_token(&config.token_format()?, &args.token));
        }
        Command::Token(TokenCommand::Owned(command)) => {
            let keygate = services(&config, Clock::default()).await?;
            token(&keygate, command).await?;
        }
        Command::User(command) => {
            let keygate = services(&config, Clock::default()).await?;
            let base = config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.bind));
            user(&keygate, command, base.trim_end_matches('/')).await?;
        }
        Command::Config(ConfigCommand::Check) => {
            print!("{}", config.describe());
            config.session_lifetime()?;
            let routes = config.routes()?;
            println!("# {} forward-auth route rule(s)", routes.len());
            for line in routes.describe() {
                println!("#   {line}");
            }
            println!("# configuration is valid");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The password on standard input (one line), when asked for.
fn password_from_stdin(asked: bool) -> anyhow::Result<Option<secrecy::SecretString>> {
    if !asked {
        return Ok(None);
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    let password = input.strip_suffix('\n').unwrap_or(&input);
    let password = password.strip_suffix('\r').unwrap_or(password);
    Ok(Some(password.to_owned().into()))
}

async fn bootstrap(keygate: &Keygate, args: BootstrapArgs) -> anyhow::Result<()> {
    let password = password_from_stdin(args.password_stdin)?;
    let done = keygate
        .bootstrap(Bootstrap {
            email: args.email,
            workspace: args.workspace,
            password,
        })
        .await
        .map_err(user_facing)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let doc = json!({
            "user": user_json(&done.user),
            "workspace": done.workspace.as_ref().map(workspace_json),
            "token": done.clear.expose(),
        });
        writeln!(out, "{doc}")?;
    } else {
        let email = done.user.email.as_ref().map_or("", |e| e.as_str());
        writeln!(
            out,
            "Created user {email} ({}), an instance admin.",
            done.user.id
        )?;
        let workspace = done.workspace.as_ref().map(|ws| (ws.slug.as_str(), ws.id));
        print_new_account(&mut out, email, workspace, done.clear.expose())?;
    }
    Ok(())
}

impl OwnedTokenCommand {
    fn owner(&self) -> &UserArgs {
        match self {
            OwnedTokenCommand::Create(args) => &args.owner,
            OwnedTokenCommand::List(args) => args,
            OwnedTokenCommand::Revoke(args)
            | OwnedTokenCommand::Rotate(TokenRotateArgs { token: args, .. }) => &args.owner,
        }
    }
}

/// `keygate token check`: the string's shape and checksum, as this deployment's format says.
fn check_token(format: &keygate_domain::TokenFormat, token: &str) -> ExitCode {
    match format.parse(token.trim()) {
        Ok(parsed) => {
            let prefix = &parsed.as_str()[..format.prefix().len() + 2];
            println!(
                "well-formed Keygate token: kind {} ({prefix}), checksum valid",
                parsed.kind()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("not a well-formed Keygate token of this format: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn token(keygate: &Keygate, command: OwnedTokenCommand) -> anyhow::Result<()> {
    let now = keygate.clock().now();
    let user = find_user(keygate, &command.owner().user).await?;
    let operator = Actor::operator(user.clone());
    let mut out = std::io::stdout().lock();
    match command {
        OwnedTokenCommand::Create(args) => {
            let request = NewTokenRequest {
                name: args.name,
                description: args.description,
                expiry: Expiry::from_parts(args.expires_in_days, args.expires_at)
                    .map_err(|e| user_facing(e.into()))?,
                scope: None,
                allowed_ips: (!args.allowed_ips.is_empty()).then_some(args.allowed_ips),
                rate_limits: RateLimits::parse_lines(&args.rate_limits.join("\n"))
                    .map_err(|e| user_facing(e.into()))?
                    .map(|l| l.limits().to_vec()),
            };
            let issued = keygate
                .create_token(&operator, request)
                .await
                .map_err(user_facing)?;
            print_issued(&mut out, args.owner.json, issued, now)?;
        }
        OwnedTokenCommand::List(args) => {
            let tokens = keygate.list_tokens(&user).await.map_err(user_facing)?;
            let tokens: Vec<TokenJson> = tokens.iter().map(|t| TokenJson::new(t, now)).collect();
            let header = format!(
                "{:<36}  {:<8}  {:<8}  {:<16}  {:<20}  NAME",
                "ID", "KIND", "STATUS", "HINT", "EXPIRES"
            );
            print_list(&mut out, args.json, "tokens", tokens, &header, |t| {
                format!(
                    "{:<36}  {:<8}  {:<8}  {:<16}  {:<20}  {}",
                    t.id,
                    t.kind.as_str(),
                    t.status.as_str(),
                    t.hint,
                    t.expires_at.map_or("never".to_owned(), |e| e
                        .format("%Y-%m-%d %H:%M")
                        .to_string()),
                    t.name.unwrap_or_default()
                )
            })?;
        }
        OwnedTokenCommand::Revoke(args) => {
            let token = keygate
                .revoke_token(&operator, args.id)
                .await
                .map_err(user_facing)?;
            if args.owner.json {
                writeln!(out, "{}", json!(TokenJson::new(&token, now)))?;
            } else {
                writeln!(out, "Revoked token {} ({}).", token.id, token.hint)?;
            }
        }
        OwnedTokenCommand::Rotate(args) => {
            let issued = keygate
                .rotate_token(&operator, args.token.id, args.grace_seconds)
                .await
                .map_err(user_facing)?;
            print_issued(&mut out, args.token.owner.json, issued, now)?;
        }
    }
    Ok(())
}

/// `base` is where people reach this Keygate, for password links.
async fn user(keygate: &Keygate, command: UserCommand, base: &str) -> anyhow::Result<()> {
    let now = keygate.clock().now();
    let console = Actor::console();
    let mut out = std::io::stdout().lock();
    match command {
        UserCommand::Create(args) => {
            let created = keygate
                .admin_create_user(
                    &console,
                    NewUserRequest {
                        email: args.email,
                        display_name: args.name,
                        password: password_from_stdin(args.password_stdin)?,
                        workspace: args.workspace,
                        instance_admin: args.instance_admin,
                        password_link: args.password_link,
                    },
                )
                .await
                .map_err(user_facing)?;
            let created = CreatedUserJson::new(created, now, base);
            if args.json {
                writeln!(out, "{}", json!(created))?;
            } else {
                let email = created.user.user.email.as_deref().unwrap_or_default();
                writeln!(out, "Created user {email} ({}).", created.user.user.id)?;
                let workspace = created
                    .workspace
                    .as_ref()
                    .map(|ws| (ws.slug.as_str(), ws.id));
                print_new_account(&mut out, email, workspace, &created.personal_token.token)?;
                if let Some(link) = &created.password_link {
                    writeln!(
                        out,
                        "Password link (once, until {}): {}",
                        link.expires_at.to_rfc3339(),
                        link.url
                    )?;
                }
            }
        }
        UserCommand::List(args) => {
            let mut query = UserQuery {
                kind: args.kind.as_deref().and_then(UserKind::parse),
                search: args.search,
                disabled: args.disabled.then_some(true),
                limit: Some(MAX_USER_PAGE),
                ..UserQuery::default()
            };
            let mut users = Vec::new();
            loop {
                let page = keygate
                    .admin_list_users(&console, &query)
                    .await
                    .map_err(user_facing)?;
                users.extend(page.users.iter().map(AdminUserJson::from));
                match page.next_cursor {
                    Some(cursor) => query.cursor = Some(cursor),
                    None => break,
                }
            }
            let header = format!(
                "{:<36}  {:<5}  {:<8}  {:<5}  EMAIL OR NAME",
                "ID", "KIND", "STATUS", "ADMIN"
            );
            print_list(&mut out, args.json, "users", users, &header, |u| {
                format!(
                    "{:<36}  {:<5}  {:<8}  {:<5}  {}",
                    u.user.id,
                    u.user.kind.as_str(),
                    if u.disabled { "disabled" } else { "active" },
                    if u.user.is_instance_admin { "yes" } else { "" },
                    u.user.email.unwrap_or(u.user.display_name),
                )
            })?;
        }
        UserCommand::Disable(ref args) | UserCommand::Enable(ref args) => {
            let disable = matches!(command, UserCommand::Disable(_));
            let id = user_id(keygate, &args.user).await?;
            let user = keygate
                .admin_set_disabled(&console, id, disable)
                .await
                .map_err(user_facing)?;
            let done = if disable { "Disabled" } else { "Enabled" };
            print_user(&mut out, args.json, &user, done)?;
        }
        UserCommand::Delete(args) => {
            let id = user_id(keygate, &args.user).await?;
            let user = keygate
                .admin_user(&console, id)
                .await
                .map_err(user_facing)?;
            keygate
                .admin_delete_user(&console, id, crate::service::Orphans::Refuse)
                .await
                .map_err(user_facing)?;
            print_user(&mut out, args.json, &user, "Deleted")?;
        }
    }
    Ok(())
}

fn print_user(out: &mut impl Write, as_json: bool, user: &User, done: &str) -> anyhow::Result<()> {
    if as_json {
        writeln!(out, "{}", json!(AdminUserJson::from(user)))?;
    } else {
        let label = user
            .email
            .as_ref()
            .map_or_else(|| user.display_name.clone(), ToString::to_string);
        writeln!(out, "{done} user {label} ({}).", user.id)?;
    }
    Ok(())
}

/// A user named by id or email.
async fn user_id(keygate: &Keygate, reference: &str) -> anyhow::Result<Uuid> {
    match Uuid::try_parse(reference) {
        Ok(id) => Ok(id),
        Err(_) => Ok(find_user(keygate, reference).await?.id),
    }
}

/// A list: as JSON, the items under `key`, or as a table of `header` and a line per item.
fn print_list<T: serde::Serialize>(
    out: &mut impl Write,
    as_json: bool,
    key: &str,
    items: Vec<T>,
    header: &str,
    line: impl Fn(T) -> String,
) -> anyhow::Result<()> {
    if as_json {
        writeln!(out, "{}", json!({ key: items }))?;
        return Ok(());
    }
    writeln!(out, "{header}")?;
    for item in items {
        writeln!(out, "{}", line(item))?;
    }
    Ok(())
}

/// What follows a new account's first line: the workspace it owns, if any, and its personal
/// token.
fn print_new_account(
    out: &mut impl Write,
    email: &str,
    workspace: Option<(&str, Uuid)>,
    token: &str,
) -> anyhow::Result<()> {
    if let Some((slug, id)) = workspace {
        writeln!(
            out,
            "Created workspace {slug} ({id}) with {email} as its owner."
        )?;
    }
    writeln!(out, "\nPersonal token (shown once; store it now):\n{token}")?;
    Ok(())
}

/// A token just issued, with its secret: as JSON, or for a person to read.
fn print_issued(
    out: &mut impl Write,
    as_json: bool,
    (token, clear): (Token, ClearToken),
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let created = TokenWithSecretJson::new(&token, clear, now);
    if as_json {
        writeln!(out, "{}", json!(created))?;
    } else {
        writeln!(
            out,
            "Token {} ({}).",
            created.details.id, created.details.hint
        )?;
        writeln!(
            out,
            "\nToken (shown once; store it now):\n{}",
            created.token
        )?;
    }
    Ok(())
}

async fn find_user(keygate: &Keygate, email: &str) -> anyhow::Result<User> {
    let email = Email::parse(email).map_err(|e| anyhow!("{e}"))?;
    match keygate.user_by_email(&email).await.map_err(user_facing)? {
        Some(user) => Ok(user),
        None => bail!("no user with email {email}"),
    }
}

/// A service error as one line for the terminal.
fn user_facing(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Internal(source) => anyhow!("internal error: {source}"),
        ServiceError::Unavailable(source) => anyhow!("the database is unavailable: {source}"),
        other => anyhow!("{other}"),
    }
}
