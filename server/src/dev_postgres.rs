//! A private PostgreSQL cluster for `taskapi serve --dev` without `DATABASE_URL`, and for
//! the test harness when no PostgreSQL answers at its default address.
//!
//! The cluster is made on first use from the installed server binaries (`initdb`,
//! `postgres`), kept between runs in the user's data directory, and listens only on a Unix
//! socket in its own directory: no TCP port, no password, no other user. It runs as a child
//! of this process and stops with it: on [`DevPostgres::stop`], when this process dies
//! (the kernel signals the postmaster, see [`spawn_postmaster`]), and, should both fail, a
//! postmaster left from an earlier run is shut down before the next one starts.
//!
//! PostgreSQL refuses to run as root. Run as root (as CI does), the cluster runs as the
//! unprivileged `postgres` system user that the distributions' server packages create,
//! under [`ROOT_HOME`], which that user can reach.

use std::{
    fs,
    os::unix::{fs::PermissionsExt as _, process::CommandExt as _},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use nix::{
    sys::signal::{Signal, kill},
    unistd::{Pid, Uid, User},
};
use sqlx::{Connection, PgConnection};
use tokio::sync::oneshot;

/// Where the cluster lives when taskapi runs as root.
pub const ROOT_HOME: &str = "/var/lib/taskapi/dev-postgres";

/// The system user a root-run cluster runs as.
const SYSTEM_USER: &str = "postgres";

/// How long the cluster may take to accept connections, and to stop.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What to tell someone without PostgreSQL's server binaries.
const INSTALL_HINT: &str = "install PostgreSQL's server (Debian/Ubuntu: `apt-get install \
     postgresql`; Fedora: `dnf install postgresql-server`; macOS: `brew install postgresql`), \
     or set DATABASE_URL to a PostgreSQL you run yourself";

/// A running private cluster.
#[derive(Debug)]
pub struct DevPostgres {
    home: PathBuf,
    postmaster: Pid,
    exited: oneshot::Receiver<()>,
}

impl DevPostgres {
    /// The cluster's directory for this user: `$XDG_DATA_HOME/taskapi/dev-postgres`
    /// (`~/.local/share/…`), or [`ROOT_HOME`] for root.
    pub fn default_home() -> anyhow::Result<PathBuf> {
        if Uid::effective().is_root() {
            return Ok(PathBuf::from(ROOT_HOME));
        }
        let data = std::env::var_os("XDG_DATA_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/share")))
            .context("neither XDG_DATA_HOME nor HOME is set: nowhere to keep the dev cluster")?;
        Ok(data.join("taskapi").join("dev-postgres"))
    }

    /// Starts the cluster in `home`, creating it first if it does not exist, and waits
    /// until it accepts connections.
    pub async fn start(home: &Path) -> anyhow::Result<Self> {
        let home = home.to_owned();
        // Looking up binaries and users, initdb and the fork: all blocking, off the runtime.
        let started = {
            let home = home.clone();
            tokio::task::spawn_blocking(move || {
                let bin = server_binaries()?;
                let owner = owner()?;
                prepare(&bin, &home, owner.as_ref())?;
                spawn_postmaster(&bin, &home, owner.as_ref())
            })
        };
        let (postmaster, exited) = started.await.context("starting the dev cluster")??;
        let cluster = Self {
            home,
            postmaster,
            exited,
        };
        cluster.wait_until_ready().await?;
        Ok(cluster)
    }

    /// The directory holding the cluster's data, socket and log.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The cluster's URL without a database: its socket's directory as the host.
    pub fn server_url(&self) -> String {
        let socket = socket_dir(&self.home);
        let host = percent_encoding::percent_encode(
            socket.as_os_str().as_encoded_bytes(),
            percent_encoding::NON_ALPHANUMERIC,
        );
        format!("postgres://{SYSTEM_USER}@{host}")
    }

    /// A URL for `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("{}/{database}", self.server_url())
    }

    /// Shuts the cluster down (PostgreSQL's fast shutdown: sessions are ended, data is
    /// flushed) and waits until its postmaster is gone.
    pub async fn stop(mut self) {
        if self.exited.try_recv().is_ok() {
            return; // It already ended: its process id may be another process's now.
        }
        if let Err(error) = kill(self.postmaster, Signal::SIGINT) {
            tracing::warn!(%error, "cannot signal the dev PostgreSQL to stop");
            return;
        }
        if tokio::time::timeout(STOP_TIMEOUT, &mut self.exited)
            .await
            .is_err()
        {
            tracing::warn!("the dev PostgreSQL did not stop in time; ending it at once");
            let _ = kill(self.postmaster, Signal::SIGQUIT);
            let _ = (&mut self.exited).await;
        }
    }

    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let url = self.url("postgres");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match PgConnection::connect(&url).await {
                Ok(connection) => {
                    let _ = connection.close().await;
                    return Ok(());
                }
                Err(_) if Instant::now() < deadline && kill(self.postmaster, None).is_ok() => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => bail!(
                    "the dev PostgreSQL did not start: {error}; its log is {}",
                    log_file(&self.home).display()
                ),
            }
        }
    }
}

/// The directory holding `initdb` and `postgres`: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/<major>/bin` (Debian's layout, where `pg_config` may be missing),
/// else the `PATH`.
fn server_binaries() -> anyhow::Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let debian = fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|versions| {
            versions
                .filter_map(|entry| {
                    let entry = entry.ok()?;
                    let major: u32 = entry.file_name().to_str()?.parse().ok()?;
                    Some((major, entry.path().join("bin")))
                })
                .filter(|(_, bin)| has_server(bin))
                .max()
                .map(|(_, bin)| bin)
        });
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    from_pg_config
        .into_iter()
        .chain(debian)
        .chain(on_path)
        .find(|dir| has_server(dir))
        .with_context(|| {
            format!("no PostgreSQL server binaries (initdb, postgres) found: {INSTALL_HINT}")
        })
}

/// The user the cluster runs as: `None` for this process's own user; the system user
/// when this process is root.
fn owner() -> anyhow::Result<Option<User>> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let user = User::from_name(SYSTEM_USER)
        .context("cannot look up the postgres system user")?
        .with_context(|| {
            format!(
                "PostgreSQL refuses to run as root and there is no `{SYSTEM_USER}` user to \
                 run it as: {INSTALL_HINT}"
            )
        })?;
    Ok(Some(user))
}

fn data_dir(home: &Path) -> PathBuf {
    home.join("data")
}

fn socket_dir(home: &Path) -> PathBuf {
    home.join("socket")
}

fn log_file(home: &Path) -> PathBuf {
    home.join("postgres.log")
}

/// Makes the cluster's directories and the cluster itself if they are missing, and shuts
/// down a postmaster an earlier run left behind.
fn prepare(bin: &Path, home: &Path, owner: Option<&User>) -> anyhow::Result<()> {
    for dir in [home.to_owned(), socket_dir(home)] {
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        // Root hands these directories to another user: never through a link planted there.
        if fs::symlink_metadata(&dir)?.file_type().is_symlink() {
            bail!("{} is a symbolic link; refusing to use it", dir.display());
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        if let Some(owner) = owner {
            std::os::unix::fs::lchown(&dir, Some(owner.uid.as_raw()), Some(owner.gid.as_raw()))
                .with_context(|| format!("cannot hand {} to {SYSTEM_USER}", dir.display()))?;
        }
    }
    let data = data_dir(home);
    if data.join("PG_VERSION").is_file() {
        stop_leftover(&data)?;
        return Ok(());
    }
    // Made aside and renamed when complete, so that an interrupted initdb leaves no
    // half-made cluster for the next run to trust.
    let making = home.join("data.initdb");
    if making.exists() {
        as_owner(Command::new("rm"), owner)
            .arg("-rf")
            .arg(&making)
            .status()
            .context("cannot remove an interrupted initdb")?;
    }
    let status = as_owner(Command::new(bin.join("initdb")), owner)
        .arg("--pgdata")
        .arg(&making)
        .args([
            "--username",
            SYSTEM_USER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
        ])
        .args(["--locale", "C", "--no-instructions"])
        .stdout(Stdio::null())
        .stderr(log(home)?)
        .status()
        .context("cannot run initdb")?;
    if !status.success() {
        bail!(
            "initdb failed ({status}); its output is in {}",
            log_file(home).display()
        );
    }
    fs::rename(&making, &data)
        .with_context(|| format!("cannot move the new cluster to {}", data.display()))
}

/// Shuts down the postmaster named by the cluster's `postmaster.pid`, if it still runs:
/// one that outlived an earlier taskapi.
fn stop_leftover(data: &Path) -> anyhow::Result<()> {
    let Some(pid) = fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|file| file.lines().next()?.trim().parse().ok())
        .map(Pid::from_raw)
    else {
        return Ok(());
    };
    if kill(pid, None).is_err() || !is_postmaster_of(pid, data) {
        return Ok(()); // A stale file (its process id may be another's now): PostgreSQL replaces it.
    }
    if let Some(user) = serving_parent(pid) {
        bail!(
            "{} is in use by {user}; stop that, or give this taskapi another \
             --dev-postgres-dir",
            data.display()
        );
    }
    tracing::warn!(%pid, "stopping a dev PostgreSQL an earlier run left behind");
    kill(pid, Signal::SIGINT).context("cannot stop it")?;
    let deadline = Instant::now() + STOP_TIMEOUT;
    while kill(pid, None).is_ok() {
        if Instant::now() > deadline {
            bail!("PostgreSQL {pid} left by an earlier run does not stop; stop it and retry");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Whether `pid` is a `postgres` serving `data`: only such a process is ever signalled.
fn is_postmaster_of(pid: Pid, data: &Path) -> bool {
    let program = fs::read_link(format!("/proc/{pid}/exe")).ok();
    let arguments = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let mut arguments = arguments.split(|&byte| byte == 0);
    program.is_some_and(|program| program.file_name() == Some("postgres".as_ref()))
        && arguments.any(|argument| argument == b"-D")
        && arguments.next() == Some(data.as_os_str().as_encoded_bytes())
}

/// The process that started `postmaster` and still runs it, if there is one: then the
/// cluster is in use, not left behind. A postmaster left behind has been adopted by init
/// (or by a service manager, `systemd`).
fn serving_parent(postmaster: Pid) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{postmaster}/stat")).ok()?;
    // `pid (comm) state ppid …`: the name may hold spaces and parentheses.
    let parent: u32 = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let name = fs::read_to_string(format!("/proc/{parent}/comm")).ok()?;
    let name = name.trim();
    (parent != 1 && name != "systemd").then(|| format!("{name}, process {parent}"))
}

/// Starts the postmaster on a thread of its own that waits for it. The postmaster is in a
/// process group of its own (a Ctrl-C meant for taskapi does not reach it: taskapi stops
/// it after draining its requests) and is sent SIGINT by the kernel when that thread ends,
/// which only happens once the postmaster has exited or when this whole process dies.
fn spawn_postmaster(
    bin: &Path,
    home: &Path,
    owner: Option<&User>,
) -> anyhow::Result<(Pid, oneshot::Receiver<()>)> {
    let mut command = as_owner(Command::new(bin.join("postgres")), owner);
    command
        .arg("-D")
        .arg(data_dir(home))
        .arg("-k")
        .arg(socket_dir(home))
        .args([
            "-c",
            "listen_addresses=",
            "-c",
            "unix_socket_permissions=0700",
        ])
        .stdin(Stdio::null())
        .stdout(log(home)?)
        .stderr(log(home)?)
        .process_group(0);
    // SAFETY: runs in the forked child before exec; prctl is async-signal-safe and touches
    // no memory of the parent. It comes after the change of user (which would clear it).
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGINT).map_err(std::io::Error::from)
        });
    }
    let (started, spawned) = std::sync::mpsc::channel();
    let (exited, on_exit) = oneshot::channel();
    std::thread::Builder::new()
        .name("dev-postgres".to_owned())
        .spawn(move || match command.spawn() {
            Ok(mut postmaster) => {
                let _ = started.send(Ok(postmaster.id()));
                let _ = postmaster.wait();
                let _ = exited.send(());
            }
            Err(error) => {
                let _ = started.send(Err(error));
            }
        })
        .context("cannot start a thread for the dev PostgreSQL")?;
    let pid = spawned
        .recv()
        .context("the dev PostgreSQL thread ended")?
        .context("cannot start postgres")?;
    let pid = i32::try_from(pid).context("a process id out of range")?;
    Ok((Pid::from_raw(pid), on_exit))
}

fn as_owner(mut command: Command, owner: Option<&User>) -> Command {
    if let Some(owner) = owner {
        command.uid(owner.uid.as_raw()).gid(owner.gid.as_raw());
        // initdb and postgres look at the environment's HOME and current directory.
        command.env("HOME", &owner.dir).current_dir("/");
    }
    command
}

fn log(home: &Path) -> anyhow::Result<fs::File> {
    let path = log_file(home);
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))
}
