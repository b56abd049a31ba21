//! `taskctl`: a command-line client for taskapi, built on this SDK.
//!
//! ```text
//! taskctl --url http://127.0.0.1:8000 login alice@example.com
//! taskctl --url http://127.0.0.1:8000 login --token      # a personal access token (tka_…)
//! taskctl add "Buy milk" --due 2030-05-01 --priority high --tag errands
//! taskctl ls --status todo
//! taskctl lists --new Groceries
//! taskctl add "Buy bread" --list Groceries
//! taskctl share bob@example.com --list Groceries --role editor
//! taskctl done 0194b2a4-…
//! taskctl logout
//! ```
//!
//! The session (its refresh token, which changes at every refresh) or the access token,
//! and the last `--url`, are kept in `$XDG_CONFIG_HOME/taskctl/` (else
//! `~/.config/taskctl/`), readable by the user alone.

use std::{
    error::Error as StdError,
    fs,
    io::{self, BufRead, IsTerminal, Write},
    path::PathBuf,
    process::ExitCode,
};

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use futures::TryStreamExt;
use taskapi_client::{
    Client, ClientInfo, events::Live, pages::Listing, patch::Patch, problem::ApiError, session,
    types,
};
use uuid::Uuid;

type Failure = Box<dyn StdError>;

#[derive(Parser)]
#[command(name = "taskctl", version, about = "Your tasks on a taskapi server")]
struct Cli {
    /// The server (`http://host:port`); remembered for the next commands.
    #[arg(long, global = true)]
    url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Log in; the password is read from the terminal (or from standard input). With
    /// `--token`, use a personal access token instead (read the same way): commands then
    /// do what its scopes allow.
    Login {
        #[arg(required_unless_present = "token")]
        email: Option<String>,
        #[arg(long, conflicts_with = "email")]
        token: bool,
    },
    /// Add a task.
    Add {
        title: String,
        /// When it is due: `2030-05-01` or `2030-05-01T17:00:00Z`.
        #[arg(long, value_parser = parse_due)]
        due: Option<DateTime<Utc>>,
        /// `low`, `medium`, `high` or `urgent`.
        #[arg(long, value_parser = parse_wire::<types::TaskPriority>)]
        priority: Option<types::TaskPriority>,
        /// A tag (repeat for several).
        #[arg(long)]
        tag: Vec<String>,
        /// The list it goes in, by name or id (default: your Inbox).
        #[arg(long)]
        list: Option<String>,
    },
    /// List tasks, every page.
    Ls {
        /// Only the tasks of this list, by name or id (default: every list you are in).
        #[arg(long)]
        list: Option<String>,
        /// `todo`, `in_progress` or `done` (repeat for several).
        #[arg(long, value_parser = parse_wire::<types::TaskStatus>)]
        status: Vec<types::TaskStatus>,
        /// Only tasks with this tag (repeat: tasks with all of them).
        #[arg(long)]
        tag: Vec<String>,
        /// Words to search for in titles and descriptions.
        #[arg(long)]
        q: Option<String>,
        /// A JSON array of tasks instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Mark a task done.
    Done { id: Uuid },
    /// Change a task; what is not given stays as it is.
    Edit {
        id: Uuid,
        #[arg(long)]
        title: Option<String>,
        /// A new description; an empty one clears it.
        #[arg(long)]
        description: Option<String>,
        /// A new due date (as for `add`), or `none` to clear it.
        #[arg(long, value_parser = parse_due_change)]
        due: Option<Patch<DateTime<Utc>>>,
        #[arg(long, value_parser = parse_wire::<types::TaskPriority>)]
        priority: Option<types::TaskPriority>,
        #[arg(long, value_parser = parse_wire::<types::TaskStatus>)]
        status: Option<types::TaskStatus>,
        /// The task's tags, replacing the ones it has (repeat for several).
        #[arg(long)]
        tag: Option<Vec<String>>,
    },
    /// Delete a task.
    Rm { id: Uuid },
    /// List your tags, with how many tasks each has.
    Tags,
    /// Your lists and the ones shared with you, with your role in each.
    Lists {
        /// Make a list with this name first.
        #[arg(long)]
        new: Option<String>,
    },
    /// Invite someone to a list by email (they accept with their own account).
    Share {
        email: String,
        /// The list, by name or id.
        #[arg(long)]
        list: String,
        /// `editor` (changes tasks) or `viewer` (reads them).
        #[arg(long, value_parser = parse_wire::<types::ListRole>, default_value = "viewer")]
        role: types::ListRole,
    },
    /// Print changes as they happen (on any list you are in), one line each, until
    /// interrupted.
    Watch {
        /// Stop after this many changes.
        #[arg(long)]
        count: Option<usize>,
    },
    /// End the session here and on the server.
    Logout,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("taskctl: {failure}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let config = Config::new()?;
    let url = config.url(cli.url)?;
    match &cli.command {
        Command::Login { token: true, .. } => {
            let token = read_secret("Access token: ")?;
            let client = session::with_token(&url, &token)?;
            // Refused outright (401) is wrong; refused by its scopes (403) is a token.
            match client
                .get_current_user()
                .send()
                .await
                .map_err(ApiError::from)
            {
                Ok(user) => println!("logged in as {} with an access token", user.email),
                Err(error) if error.status().map(|status| status.as_u16()) == Some(403) => {
                    println!("logged in with an access token")
                }
                Err(error) => return Err(error.into()),
            }
            config.forget_session().ok();
            config.save_access_token(&token)?;
            return Ok(());
        }
        Command::Login {
            email: Some(email), ..
        } => {
            let password = read_secret("Password: ")?;
            let (_, token) = session::log_in(&url, email, &password)
                .await
                .map_err(ApiError::from)?;
            config.forget_access_token().ok();
            config.save_session(&token)?;
            println!("logged in as {email}");
            return Ok(());
        }
        _ => {}
    }
    if let Some(token) = config.access_token() {
        if let Command::Logout = cli.command {
            config.forget_access_token()?;
            println!("logged out (the access token itself stays valid until deleted)");
            return Ok(());
        }
        let client = session::with_token(&url, &token)?;
        return command(&client, cli.command).await;
    }
    let client = session::resume(&url, config.session()?)?;
    let result = command(&client, cli.command).await;
    match client.inner().tokens().await {
        // After a logout the session is gone, here as on the server.
        Some(_) if config.logged_out() => {}
        Some(tokens) => config.save_session(&tokens)?,
        None => {}
    }
    result
}

async fn command(client: &Client, command: Command) -> Result<(), Failure> {
    match command {
        Command::Login { .. } => unreachable!("handled before a session is needed"),
        Command::Add {
            title,
            due,
            priority,
            tag,
            list,
        } => {
            let list = match list {
                Some(list) => Some(find_list(client, &list).await?.id),
                None => None,
            };
            let mut input = types::TaskInput::builder()
                .title(title)
                .due_at(due)
                .list_id(list)
                .tags(
                    tag.into_iter()
                        .map(types::TaskInputTagsItem::try_from)
                        .collect::<Result<Vec<_>, _>>()?,
                );
            if let Some(priority) = priority {
                input = input.priority(priority);
            }
            let task = client
                .create_task()
                .body(input)
                .send()
                .await
                .map_err(ApiError::from)?
                .into_inner();
            println!("{}", task.id);
        }
        Command::Ls {
            list,
            status,
            tag,
            q,
            json,
        } => {
            let mut listing = client.list_tasks().limit(100u64);
            if let Some(list) = list {
                listing = listing.list_id(find_list(client, &list).await?.id);
            }
            if !status.is_empty() {
                listing = listing.status(status);
            }
            if !tag.is_empty() {
                listing = listing.tag(
                    tag.into_iter()
                        .map(types::ListTasksTagItem::try_from)
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            if let Some(q) = q {
                listing = listing.q(q);
            }
            let tasks: Vec<types::Task> = listing
                .items()
                .try_collect()
                .await
                .map_err(ApiError::from)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tasks)?);
            } else {
                print_table(&tasks);
            }
        }
        Command::Watch { count } => {
            let mut live = Live::from(client.clone(), None);
            live.open().await?;
            eprintln!("watching for changes (Ctrl-C to stop)");
            let mut left = count;
            while left != Some(0) {
                let Some(change) = live.next().await? else {
                    break;
                };
                println!("{}", describe(&change));
                left = left.map(|left| left - 1);
            }
        }
        Command::Done { id } => {
            let patch = types::TaskPatch::builder().status(types::TaskStatus::Done);
            edit(client, id, patch).await?;
        }
        Command::Edit {
            id,
            title,
            description,
            due,
            priority,
            status,
            tag,
        } => {
            let mut patch = types::TaskPatch::builder()
                .due_at(due.unwrap_or_default())
                .description(match description.as_deref() {
                    None => Patch::Keep,
                    Some("") => Patch::Clear,
                    Some(text) => Patch::Set(text.to_owned()),
                });
            if let Some(tags) = tag {
                let tags = tags.into_iter().map(types::TaskPatchTagsItem::try_from);
                patch = patch.tags(Some(tags.collect::<Result<Vec<_>, _>>()?));
            }
            if let Some(title) = title {
                patch = patch.title(Some(types::TaskPatchTitle::try_from(title)?));
            }
            if let Some(priority) = priority {
                patch = patch.priority(priority);
            }
            if let Some(status) = status {
                patch = patch.status(status);
            }
            edit(client, id, patch).await?;
        }
        Command::Rm { id } => {
            client
                .delete_task()
                .task_id(id)
                .send()
                .await
                .map_err(ApiError::from)?;
        }
        Command::Tags => {
            let tags: Vec<types::Tag> = client
                .list_tags()
                .items()
                .try_collect()
                .await
                .map_err(ApiError::from)?;
            for tag in tags {
                println!("{:>5}  {}", tag.task_count, tag.name);
            }
        }
        Command::Lists { new } => {
            if let Some(name) = new {
                let input = types::ListInput::builder().name(name);
                let created = client.create_list().body(input).send().await;
                created.map_err(ApiError::from)?;
            }
            println!("{:<36}  {:<6}  NAME", "ID", "ROLE");
            for list in lists(client).await? {
                println!("{:<36}  {:<6}  {}", list.id, list.role, list.name);
            }
        }
        Command::Share { email, list, role } => {
            let list = find_list(client, &list).await?;
            let invitation = types::InvitationInput::builder()
                .email(email.clone())
                .role(role);
            client
                .create_invitation()
                .list_id(list.id)
                .body(invitation)
                .send()
                .await
                .map_err(ApiError::from)?;
            println!("invited {email} to {} as {role}", list.name);
        }
        Command::Logout => {
            client.logout().send().await.map_err(ApiError::from)?;
            Config::new()?.forget_session()?;
            println!("logged out");
        }
    }
    Ok(())
}

/// Every list the caller is in.
async fn lists(client: &Client) -> Result<Vec<types::List>, Failure> {
    Ok(client
        .list_lists()
        .items()
        .try_collect()
        .await
        .map_err(ApiError::from)?)
}

/// The caller's list named `name` (ignoring case) or with that id.
async fn find_list(client: &Client, name: &str) -> Result<types::List, Failure> {
    let id = name.parse::<Uuid>().ok();
    let mut found = lists(client)
        .await?
        .into_iter()
        .filter(|list| Some(list.id) == id || list.name.to_lowercase() == name.to_lowercase());
    match (found.next(), found.next()) {
        (Some(list), None) => Ok(list),
        (None, _) => Err(format!("no list {name:?}: `taskctl lists` shows yours").into()),
        (Some(_), Some(_)) => Err(format!("several lists are named {name:?}: give its id").into()),
    }
}

/// Applies `patch` to the task as the caller last saw it: `If-Match` names the version
/// just read, so a change made in between is not overwritten unseen.
async fn edit(client: &Client, id: Uuid, patch: types::builder::TaskPatch) -> Result<(), Failure> {
    let current = client
        .get_task()
        .task_id(id)
        .send()
        .await
        .map_err(ApiError::from)?;
    let etag = current
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|etag| etag.to_str().ok())
        .ok_or("the server sent no ETag")?
        .to_owned();
    let task = client
        .update_task()
        .task_id(id)
        .if_match(etag)
        .body(patch)
        .send()
        .await
        .map_err(ApiError::from)?
        .into_inner();
    println!("{} {}", task.id, task.status);
    Ok(())
}

fn print_table(tasks: &[types::Task]) {
    println!(
        "{:<36}  {:<11}  {:<8}  {:<10}  TITLE",
        "ID", "STATUS", "PRIORITY", "DUE"
    );
    for task in tasks {
        let due = task
            .due_at
            .map(|due| due.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let tags = match task.tags.is_empty() {
            true => String::new(),
            false => format!("  [{}]", task.tags.join(", ")),
        };
        println!(
            "{:<36}  {:<11}  {:<8}  {:<10}  {}{tags}",
            task.id, task.status, task.priority, due, task.title
        );
    }
}

/// The password: from the terminal without echo, or the first line of standard input when
/// that is not a terminal (a script, a pipe).
fn read_secret(prompt: &str) -> Result<String, Failure> {
    if io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password(prompt)?);
    }
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn parse_due(value: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = value.parse::<NaiveDate>() {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    value.parse().map_err(|_| {
        format!("{value:?} is neither a date (2030-05-01) nor a time (2030-05-01T17:00:00Z)")
    })
}

fn parse_due_change(value: &str) -> Result<Patch<DateTime<Utc>>, String> {
    match value {
        "none" => Ok(Patch::Clear),
        value => parse_due(value).map(Patch::Set),
    }
}

/// A value as the contract spells it (`in_progress`, `high`).
fn parse_wire<T: serde::de::DeserializeOwned>(value: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::from(value))
        .map_err(|_| format!("{value:?} is not one of the accepted values"))
}

/// `taskctl`'s directory, with the remembered URL and the session.
struct Config {
    dir: PathBuf,
}

impl Config {
    fn new() -> Result<Self, Failure> {
        let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|dir| !dir.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(
                std::env::var_os("HOME").ok_or("neither XDG_CONFIG_HOME nor HOME is set")?,
            )
            .join(".config"),
        };
        Ok(Self {
            dir: base.join("taskctl"),
        })
    }

    /// `given`, remembered for next time, or the one remembered.
    fn url(&self, given: Option<String>) -> Result<String, Failure> {
        let path = self.dir.join("url");
        match given {
            Some(url) => {
                self.write(&path, url.as_bytes())?;
                Ok(url)
            }
            None => Ok(fs::read_to_string(&path)
                .map_err(|_| "no server known: give --url")?
                .trim()
                .to_owned()),
        }
    }

    fn session(&self) -> Result<types::Token, Failure> {
        let saved = fs::read(self.dir.join("session.json"))
            .map_err(|_| "not logged in: run `taskctl login EMAIL`")?;
        Ok(serde_json::from_slice(&saved)?)
    }

    fn save_session(&self, token: &types::Token) -> Result<(), Failure> {
        self.write(&self.dir.join("session.json"), &serde_json::to_vec(token)?)
    }

    fn forget_session(&self) -> Result<(), Failure> {
        fs::remove_file(self.dir.join("session.json"))?;
        Ok(())
    }

    /// The access token `taskctl login --token` saved, if it did.
    fn access_token(&self) -> Option<String> {
        let saved = fs::read_to_string(self.dir.join("access_token")).ok()?;
        Some(saved.trim().to_owned())
    }

    fn save_access_token(&self, token: &str) -> Result<(), Failure> {
        self.write(&self.dir.join("access_token"), token.as_bytes())
    }

    fn forget_access_token(&self) -> Result<(), Failure> {
        fs::remove_file(self.dir.join("access_token"))?;
        Ok(())
    }

    fn logged_out(&self) -> bool {
        !self.dir.join("session.json").exists()
    }

    /// Writes `contents` to `path` by replacing it whole, readable by the user alone.
    fn write(&self, path: &std::path::Path, contents: &[u8]) -> Result<(), Failure> {
        fs::create_dir_all(&self.dir)?;
        let partial = path.with_extension("partial");
        // A partial file left by an interrupted write may not be private: start afresh.
        let _ = fs::remove_file(&partial);
        let mut file = private_file(&partial)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&partial, path)?;
        Ok(())
    }
}

#[cfg(unix)]
fn private_file(path: &std::path::Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &std::path::Path) -> io::Result<fs::File> {
    fs::File::create(path)
}

/// A change as one line: `task ID STATUS TITLE`, `list ID NAME`, or `task ID deleted`.
fn describe(change: &types::SyncChange) -> String {
    match (&change.task, &change.list) {
        (Some(task), _) => format!("task {} {} {}", task.id, task.status, &*task.title),
        (_, Some(list)) => format!("list {} {}", list.id, &*list.name),
        _ => format!("{} {} deleted", change.kind, change.id),
    }
}
