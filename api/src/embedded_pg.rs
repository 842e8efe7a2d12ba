//! A private PostgreSQL cluster owned by this process: found on the machine, started on a Unix
//! socket only, stopped when dropped.
//!
//! * The server binaries (`initdb`, `pg_ctl`, `postgres`, 15 or newer) are looked up in
//!   `$DIIA_QR_PG_BIN` if set, else on `PATH`, else in `/usr/lib/postgresql/*/bin` (highest
//!   version first).
//! * The server listens on no TCP address (`listen_addresses=''`), only on a Unix socket in a
//!   private folder (mode 0700), with `trust` authentication for the superuser `postgres`.
//! * PostgreSQL refuses to run as root. When this process is root, `initdb`, `pg_ctl`, `psql`
//!   and the server run as an unprivileged user instead: the owner of an existing cluster, or
//!   the `postgres` user for a new one, and the cluster folders are owned by that user.
//! * A watchdog child stops the server (and removes a throwaway cluster) when this process
//!   ends without running `Drop` (see [`Watchdog`]).
//!
//! Everything here is blocking (`std::process`); call it from `spawn_blocking` in async code.

use std::collections::HashSet;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Environment variable naming a folder that holds `initdb`, `pg_ctl` and `postgres`.
pub const BIN_DIR_ENV: &str = "DIIA_QR_PG_BIN";
/// Oldest PostgreSQL major version accepted.
const MIN_MAJOR: u32 = 15;
/// The superuser created by `initdb -U`, used in every URL.
const SUPERUSER: &str = "postgres";
/// The unprivileged account the server runs as when this process is root.
const SERVER_ACCOUNT: &str = "postgres";
/// File in the data folder naming the process that started the server.
const OWNER_FILE: &str = "diia-qr-owner.pid";
/// `sun_path` holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;
/// Seconds `pg_ctl` waits for the server to start or stop.
const PG_CTL_TIMEOUT: &str = "60";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres, version 15 or newer) not found: \
         {searched}. Install PostgreSQL 15+ server binaries, e.g. `apt-get install postgresql`, \
         or set {BIN_DIR_ENV} to the folder holding them, or set DATABASE_URL to use an existing \
         server"
    )]
    BinariesNotFound { searched: String },

    #[error(
        "PostgreSQL refuses to run as root and this process is root, but there is no user to run \
         it as: {reason}. Create the `postgres` user (installing the `postgresql` package does), \
         run as an ordinary user, or set DATABASE_URL"
    )]
    NoServerUser { reason: String },

    #[error(
        "PostgreSQL runs as user `{user}` (this process is root) and cannot reach {path}: a folder \
         on the way to the data or socket folder must be searchable by that user (e.g. \
         `chmod o+x {path}`), or choose a data folder elsewhere"
    )]
    NotAccessible { path: PathBuf, user: String },

    #[error("unusable path {path}: {reason}")]
    InvalidPath { path: PathBuf, reason: String },

    #[error(
        "no usable Unix socket folder: {path} is too long or has characters PostgreSQL cannot \
         take in unix_socket_directories (a socket path must stay within {MAX_SOCKET_PATH} \
         bytes); set TMPDIR to a short folder"
    )]
    SocketPath { path: PathBuf },

    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("could not run {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "the cluster in {data_dir} was made by PostgreSQL {cluster}, but the server binaries \
         found are PostgreSQL {server} ({bin_dir}); set {BIN_DIR_ENV} to the matching binaries"
    )]
    VersionMismatch { data_dir: PathBuf, cluster: String, server: String, bin_dir: PathBuf },

    #[error("initdb failed for {data_dir}: {output}")]
    InitDb { data_dir: PathBuf, output: String },

    #[error("a PostgreSQL server is already running on {data_dir}: {detail}")]
    AlreadyRunning { data_dir: PathBuf, detail: String },

    #[error("PostgreSQL failed to start on {data_dir}: {output}\nlast lines of the server log:\n{log_tail}")]
    Start { data_dir: PathBuf, output: String, log_tail: String },

    #[error("PostgreSQL on {data_dir} did not stop: {output}")]
    Stop { data_dir: PathBuf, output: String },

    #[error("the PostgreSQL server on {data_dir} is not running")]
    NotRunning { data_dir: PathBuf },

    #[error("invalid database name {name:?}: use 1 to 63 characters from [a-z0-9_]")]
    InvalidDatabaseName { name: String },

    #[error("could not create database {name}: {output}")]
    CreateDatabase { name: String, output: String },
}

type Result<T, E = EmbeddedPgError> = std::result::Result<T, E>;

/// A PostgreSQL server started by this process. Stopped by [`EmbeddedPostgres::stop`] or on drop.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin: PgBin,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    /// The socket folder is a temporary folder of ours outside the data folder.
    socket_dir_is_temp: bool,
    port: u16,
    /// Who the PostgreSQL programs run as; `None` means as this process's user.
    run_as: Option<RunAs>,
    /// The whole temporary folder of a throwaway cluster, removed on drop.
    throwaway_root: Option<PathBuf>,
    watchdog: Option<Watchdog>,
    /// The server may be running: `stop` must stop it.
    running: bool,
}

#[derive(Debug, Clone)]
struct PgBin {
    dir: PathBuf,
    major: u32,
    version: String,
}

#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
    home: PathBuf,
}

/// Stops the server when this process is gone without having stopped it.
///
/// Why: a process that ends without running `Drop` (SIGKILL, a crash, `std::process::exit`, a
/// test binary whose cluster lives in a `static`, which is never dropped) would otherwise leave
/// the server running forever, since `pg_ctl` detaches it into its own session. The watchdog is
/// a tiny `sh` that blocks reading a pipe whose only writer is this process (the write end is
/// close-on-exec, so no other program inherits it). When this process ends for any reason the
/// kernel closes the write end, `read` sees end-of-file at once, and the shell stops the server
/// and removes the throwaway folders. Unlike polling `kill -0 <pid>`, this is not fooled by a
/// zombie that nobody reaps nor by a reused pid. It runs as the server's user (so `pg_ctl` works
/// when we are root), in its own process group (so a Ctrl-C aimed at us does not kill it before
/// it has cleaned up), with stdout/stderr on /dev/null (so it never holds a test harness's
/// output pipes open). A normal `stop` SIGKILLs it before closing the pipe.
#[derive(Debug)]
struct Watchdog {
    child: Child,
    lifeline: Option<ChildStdin>,
}

impl Watchdog {
    fn disarm(mut self) {
        // Kill first, then close the pipe: a watchdog that saw end-of-file would stop the server.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.lifeline.take();
    }
}

const WATCHDOG_SCRIPT: &str = r#"trap '' HUP INT
read _ignored
if ! "$1" stop -D "$2" -m "$3" -s -w -t 60 >/dev/null 2>&1 && "$1" status -D "$2" >/dev/null 2>&1; then
  "$1" stop -D "$2" -m immediate -s -w -t 60 >/dev/null 2>&1
fi
shift 3
for d in "$@"; do rm -rf -- "$d"; done
"#;

impl EmbeddedPostgres {
    /// Starts a server on `data_dir`, creating the cluster there (`initdb`) if `data_dir/PG_VERSION`
    /// is missing; an existing cluster is reused.
    ///
    /// Binaries: a folder containing `pg_ctl`, `initdb` and `postgres` (PostgreSQL 15+), from
    /// `$DIIA_QR_PG_BIN` if set, else the first on `PATH`, else `/usr/lib/postgresql/*/bin`
    /// (highest version first; for an existing cluster, its own major version is preferred).
    ///
    /// The server listens only on a Unix socket in `data_dir/run` (or a short private folder
    /// under the temporary folder when that path would be too long), logs to
    /// `data_dir/server.log`, and keeps its data durable (fsync on). A server already running on
    /// `data_dir` is stopped first when the process that started it through this module is gone;
    /// otherwise this fails with [`EmbeddedPgError::AlreadyRunning`].
    pub fn start(data_dir: &Path) -> Result<Self> {
        let data_dir = std::path::absolute(data_dir).map_err(|source| EmbeddedPgError::Io {
            action: "cannot resolve",
            path: data_dir.to_path_buf(),
            source,
        })?;
        let cluster_major = read_cluster_version(&data_dir);
        let bin = find_binaries(cluster_major.as_deref())?;
        let run_as = server_user(&data_dir)?;
        Self::launch(bin, data_dir, None, run_as)
    }

    /// A throwaway cluster in a fresh temporary folder (under [`std::env::temp_dir`], removed on
    /// drop, or by the watchdog if this process ends without dropping it), tuned for tests:
    /// fsync=off, synchronous_commit=off, full_page_writes=off, max_connections=200.
    pub fn start_throwaway() -> Result<Self> {
        let bin = find_binaries(None)?;
        let run_as = server_user_for_new_cluster()?;
        let tmp = std::path::absolute(std::env::temp_dir()).unwrap_or_else(|_| "/tmp".into());
        let root = create_unique_dir(&tmp, "diia-qr-pg")?;
        if let Some(user) = &run_as {
            if let Err(e) = chown(&root, user).and_then(|()| check_reachable(&root, user)) {
                let _ = fs::remove_dir_all(&root);
                return Err(e);
            }
        }
        let data_dir = root.join("data");
        Self::launch(bin, data_dir, Some(root), run_as)
    }

    /// The URL of `database` on a server already running on `data_dir` (started by another
    /// process, e.g. `diia-qr serve`), read from its `postmaster.pid`; `None` when none runs.
    pub fn running_database_url(data_dir: &Path, database: &str) -> Option<String> {
        let pid_file = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
        let lines: Vec<&str> = pid_file.lines().collect();
        let pid: i32 = lines.first()?.trim().parse().ok()?;
        let port: u16 = lines.get(3)?.trim().parse().ok()?;
        let socket_dir = lines.get(4)?.trim();
        let ready = lines.get(7).is_some_and(|status| status.trim() == "ready");
        if !ready || socket_dir.is_empty() || !process_alive(pid) {
            return None;
        }
        Some(socket_url(socket_dir.as_bytes(), port, database))
    }

    /// A sqlx/libpq URL for `database` on this cluster over the Unix socket:
    /// `postgres://postgres@localhost/DATABASE?host=/socket/dir&port=PORT&sslmode=disable`.
    pub fn database_url(&self, database: &str) -> String {
        socket_url(self.socket_dir.as_os_str().as_bytes(), self.port, database)
    }

    /// Creates database `name` (1 to 63 characters from `[a-z0-9_]`) unless it exists.
    pub fn create_database(&self, name: &str) -> Result<()> {
        let valid = !name.is_empty() && name.len() <= 63 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(EmbeddedPgError::InvalidDatabaseName { name: name.into() });
        }
        if !self.running {
            return Err(EmbeddedPgError::NotRunning { data_dir: self.data_dir.clone() });
        }
        let exists_sql = format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'");
        let exists = |pg: &Self| -> Result<bool> {
            pg.psql(&exists_sql)
                .map(|out| out.trim() == "1")
                .map_err(|output| EmbeddedPgError::CreateDatabase { name: name.into(), output })
        };
        if exists(self)? {
            return Ok(());
        }
        match self.psql(&format!("CREATE DATABASE \"{name}\"")) {
            Ok(_) => {
                tracing::debug!(database = name, "created database");
                Ok(())
            }
            // Another thread or process may have created it meanwhile.
            Err(_) if exists(self)? => Ok(()),
            Err(output) => Err(EmbeddedPgError::CreateDatabase { name: name.into(), output }),
        }
    }

    /// Stops the server (`pg_ctl stop -m fast`, then `-m immediate` if that fails). Idempotent.
    pub fn stop(&mut self) -> Result<()> {
        if self.running {
            self.pg_ctl_stop()?;
            self.running = false;
            if self.throwaway_root.is_none() {
                let _ = fs::remove_file(self.data_dir.join(OWNER_FILE));
            }
            tracing::info!(data_dir = %self.data_dir.display(), "PostgreSQL stopped");
        }
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
        if self.socket_dir_is_temp {
            let _ = fs::remove_dir_all(&self.socket_dir);
        }
        Ok(())
    }

    /// The cluster's data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The folder holding the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The port number naming the socket file (`.s.PGSQL.PORT`); nothing listens on TCP.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn launch(bin: PgBin, data_dir: PathBuf, throwaway_root: Option<PathBuf>, run_as: Option<RunAs>) -> Result<Self> {
        let started = Instant::now();
        check_shell_safe(&data_dir)?;
        // From here on, `Drop` cleans up whatever an error leaves behind.
        let mut pg = EmbeddedPostgres {
            bin,
            data_dir,
            socket_dir: PathBuf::new(),
            socket_dir_is_temp: false,
            port: 0,
            run_as,
            throwaway_root,
            watchdog: None,
            running: false,
        };
        pg.prepare_data_dir()?;
        let initialized = pg.data_dir.join("PG_VERSION").exists();
        if initialized {
            pg.check_cluster_version()?;
            pg.stop_orphaned_server()?;
        }
        pg.port = pick_port();
        pg.prepare_socket_dir(initialized)?;
        pg.watchdog = Some(pg.spawn_watchdog()?);
        if !initialized {
            pg.initdb()?;
        }
        if pg.throwaway_root.is_none() {
            let owner = pg.data_dir.join(OWNER_FILE);
            fs::write(&owner, format!("{}\n", std::process::id())).map_err(|source| EmbeddedPgError::Io {
                action: "cannot write",
                path: owner.clone(),
                source,
            })?;
        }
        pg.running = true;
        pg.pg_ctl_start()?;
        tracing::info!(
            version = %pg.bin.version,
            bin_dir = %pg.bin.dir.display(),
            data_dir = %pg.data_dir.display(),
            socket_dir = %pg.socket_dir.display(),
            port = pg.port,
            run_as = pg.run_as.as_ref().map(|u| u.name.as_str()).unwrap_or("(self)"),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "PostgreSQL started"
        );
        Ok(pg)
    }

    /// A command for a PostgreSQL program: run as the server user, from `/`, without the
    /// caller's `PG*` variables (PGDATA, PGHOST, PGSSLMODE... would change what it does).
    fn command(&self, program: &Path) -> Command {
        command_as(self.run_as.as_ref(), program)
    }

    fn tool(&self, name: &str) -> PathBuf {
        self.bin.dir.join(name)
    }

    fn prepare_data_dir(&self) -> Result<()> {
        ensure_private_dir(&self.data_dir, self.run_as.as_ref())?;
        if let Some(user) = &self.run_as {
            check_reachable(&self.data_dir, user)?;
        }
        Ok(())
    }

    fn check_cluster_version(&self) -> Result<()> {
        let cluster = read_cluster_version(&self.data_dir).unwrap_or_default();
        if cluster != self.bin.major.to_string() {
            return Err(EmbeddedPgError::VersionMismatch {
                data_dir: self.data_dir.clone(),
                cluster,
                server: self.bin.version.clone(),
                bin_dir: self.bin.dir.clone(),
            });
        }
        Ok(())
    }

    /// Deals with a server already running on the data folder: one whose starter (recorded in
    /// the owner file) is gone is stopped; any other is left alone and reported.
    fn stop_orphaned_server(&self) -> Result<()> {
        if !self.data_dir.join("postmaster.pid").exists() || !self.server_running()? {
            return Ok(());
        }
        let owner = fs::read_to_string(self.data_dir.join(OWNER_FILE)).ok().and_then(|s| s.trim().parse::<i32>().ok());
        let hint = format!(
            "stop it first, e.g. `pg_ctl stop -D {}`{}",
            self.data_dir.display(),
            match &self.run_as {
                Some(u) => format!(" as user {}", u.name),
                None => String::new(),
            }
        );
        match owner {
            Some(pid) if pid as u32 != std::process::id() && !process_alive(pid) => {
                tracing::warn!(
                    data_dir = %self.data_dir.display(),
                    owner_pid = pid,
                    "stopping a PostgreSQL server left running by a process that is gone"
                );
                self.pg_ctl_stop()
            }
            Some(pid) => Err(EmbeddedPgError::AlreadyRunning {
                data_dir: self.data_dir.clone(),
                detail: format!("process {pid}, which started it, is still running; {hint}"),
            }),
            None => Err(EmbeddedPgError::AlreadyRunning {
                data_dir: self.data_dir.clone(),
                detail: format!("it was not started by diia-qr; {hint}"),
            }),
        }
    }

    /// `pg_ctl status`: true when a server is running on the data folder.
    fn server_running(&self) -> Result<bool> {
        let out = run(self.command(&self.tool("pg_ctl")).args(["status", "-D"]).arg(&self.data_dir))?;
        Ok(out.status.code() == Some(0))
    }

    fn prepare_socket_dir(&mut self, initialized: bool) -> Result<()> {
        let port_len = self.port.to_string().len();
        let fits = |dir: &Path| socket_dir_usable(dir, port_len);
        let preferred = self.data_dir.join("run");
        if fits(&preferred) {
            // Before initdb the data folder must be empty: make `run` only afterwards.
            self.socket_dir = preferred;
            self.socket_dir_is_temp = false;
            if initialized {
                self.make_socket_dir()?;
            }
            return Ok(());
        }
        let tmp = std::path::absolute(std::env::temp_dir()).unwrap_or_else(|_| "/tmp".into());
        let parent = [tmp, PathBuf::from("/tmp")]
            .into_iter()
            .find(|p| fits(&p.join("diia-qr-pg-sock-000000000000")))
            .ok_or_else(|| EmbeddedPgError::SocketPath { path: preferred.clone() })?;
        self.socket_dir = create_unique_dir(&parent, "diia-qr-pg-sock")?;
        self.socket_dir_is_temp = true;
        if let Some(user) = &self.run_as {
            chown(&self.socket_dir, user)?;
            check_reachable(&self.socket_dir, user)?;
        }
        Ok(())
    }

    fn make_socket_dir(&self) -> Result<()> {
        ensure_private_dir(&self.socket_dir, self.run_as.as_ref())?;
        // Sockets left by a killed server would only confuse: nothing runs here now.
        if let Ok(entries) = fs::read_dir(&self.socket_dir) {
            for entry in entries.flatten() {
                if entry.file_name().as_bytes().starts_with(b".s.PGSQL.") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    fn spawn_watchdog(&self) -> Result<Watchdog> {
        let sh = Path::new("/bin/sh");
        let mut cmd = self.command(sh);
        let mode = if self.throwaway_root.is_some() { "immediate" } else { "fast" };
        cmd.arg("-c").arg(WATCHDOG_SCRIPT).arg("diia-qr-pg-watchdog").arg(self.tool("pg_ctl")).arg(&self.data_dir).arg(mode);
        if let Some(root) = &self.throwaway_root {
            cmd.arg(root);
        }
        if self.socket_dir_is_temp {
            cmd.arg(&self.socket_dir);
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).process_group(0);
        let mut child = cmd.spawn().map_err(|source| EmbeddedPgError::Spawn { program: sh.into(), source })?;
        let lifeline = child.stdin.take();
        Ok(Watchdog { child, lifeline })
    }

    fn initdb(&self) -> Result<()> {
        let locale = if c_utf8_available() { "C.UTF-8" } else { "C" };
        let attempt = |locale: &str| -> Result<Output> {
            let mut cmd = self.command(&self.tool("initdb"));
            cmd.arg("-D")
                .arg(&self.data_dir)
                .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-instructions"])
                .arg(format!("--locale={locale}"));
            if self.throwaway_root.is_some() {
                cmd.arg("--no-sync");
            }
            run(&mut cmd)
        };
        let started = Instant::now();
        let mut out = attempt(locale)?;
        let locale_refused = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase().contains("locale");
        if !out.status.success() && locale != "C" && locale_refused {
            tracing::warn!(output = %describe(&out), "initdb with C.UTF-8 failed; retrying with C");
            out = attempt("C")?;
        }
        if !out.status.success() {
            return Err(EmbeddedPgError::InitDb { data_dir: self.data_dir.clone(), output: describe(&out) });
        }
        tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "initdb done");
        self.make_socket_dir()
    }

    fn pg_ctl_start(&self) -> Result<()> {
        let mut opts = format!("-p {} -k {} -c listen_addresses=''", self.port, shell_quote(self.socket_dir.as_os_str()));
        if self.throwaway_root.is_some() {
            opts.push_str(
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                 -c max_connections=200",
            );
        }
        let log = self.data_dir.join("server.log");
        let out = run(self
            .command(&self.tool("pg_ctl"))
            .arg("start")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", PG_CTL_TIMEOUT, "-s", "-o"])
            .arg(opts))?;
        if out.status.success() {
            return Ok(());
        }
        Err(EmbeddedPgError::Start { data_dir: self.data_dir.clone(), output: describe(&out), log_tail: tail(&log, 25) })
    }

    fn pg_ctl_stop(&self) -> Result<()> {
        // `pg_ctl stop -w` returns once postmaster.pid is gone, which the server removes just
        // before it exits: wait for the process itself too, so "stopped" means stopped.
        let postmaster = fs::read_to_string(self.data_dir.join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<i32>().ok()));
        let gone = || {
            let deadline = Instant::now() + Duration::from_secs(10);
            while postmaster.is_some_and(process_alive) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        let stop = |mode: &str| {
            run(self.command(&self.tool("pg_ctl")).arg("stop").arg("-D").arg(&self.data_dir).args([
                "-m",
                mode,
                "-w",
                "-t",
                PG_CTL_TIMEOUT,
                "-s",
            ]))
        };
        let fast = stop("fast")?;
        if fast.status.success() || !self.server_running()? {
            gone();
            return Ok(());
        }
        tracing::warn!(output = %describe(&fast), "pg_ctl stop -m fast failed; trying immediate");
        let immediate = stop("immediate")?;
        if immediate.status.success() || !self.server_running()? {
            gone();
            return Ok(());
        }
        Err(EmbeddedPgError::Stop { data_dir: self.data_dir.clone(), output: format!("{}; {}", describe(&fast), describe(&immediate)) })
    }

    /// Runs one SQL statement on the `postgres` database; `Ok(stdout)` or `Err(description)`.
    fn psql(&self, sql: &str) -> Result<String, String> {
        let psql = self.tool("psql");
        let psql = if is_executable(&psql) {
            psql
        } else {
            find_on_path("psql").ok_or_else(|| {
                format!(
                    "psql not found in {} nor on PATH; install the PostgreSQL client, e.g. \
                     `apt-get install postgresql-client`",
                    self.bin.dir.display()
                )
            })?
        };
        let out = self
            .command(&psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", SUPERUSER, "-d", "postgres", "-c", sql])
            .output()
            .map_err(|e| format!("could not run {}: {e}", psql.display()))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(describe(&out))
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            // The watchdog is still armed: dropping it closes its pipe, and it stops the server
            // and removes the throwaway folder itself.
            tracing::warn!(error = %e, "could not stop the embedded PostgreSQL; leaving it to the watchdog");
            return;
        }
        if let Some(root) = self.throwaway_root.take() {
            if let Err(e) = fs::remove_dir_all(&root) {
                tracing::warn!(error = %e, path = %root.display(), "could not remove throwaway cluster");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Finding the binaries

fn find_binaries(prefer_major: Option<&str>) -> Result<PgBin> {
    locate_binaries(
        std::env::var_os(BIN_DIR_ENV).filter(|v| !v.is_empty()),
        std::env::var_os("PATH"),
        Path::new("/usr/lib/postgresql"),
        prefer_major,
    )
}

/// Looks for the server binaries: only in `override_dir` when given; else on `path_var`, then in
/// `versions_root/*/bin` (highest version first). Prefers `prefer_major` among the usable ones.
fn locate_binaries(
    override_dir: Option<OsString>,
    path_var: Option<OsString>,
    versions_root: &Path,
    prefer_major: Option<&str>,
) -> Result<PgBin> {
    let mut notes: Vec<String> = Vec::new();
    let candidates: Vec<PathBuf> = match &override_dir {
        Some(dir) => vec![PathBuf::from(dir)],
        None => {
            let mut dirs: Vec<PathBuf> =
                path_var.as_deref().map(|p| std::env::split_paths(p).filter(|d| d.is_absolute()).collect()).unwrap_or_default();
            let mut versioned: Vec<((u32, u32), PathBuf)> = fs::read_dir(versions_root)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name();
                    let key = parse_version_key(name.to_str()?)?;
                    Some((key, e.path().join("bin")))
                })
                .collect();
            versioned.sort_by_key(|(key, _)| std::cmp::Reverse(*key));
            dirs.extend(versioned.into_iter().map(|(_, d)| d));
            dirs
        }
    };
    let mut seen = HashSet::new();
    let mut usable = Vec::new();
    for dir in candidates {
        if !has_server_binaries(&dir) {
            continue;
        }
        // Prefer the real folder behind symlinks like /usr/local/bin/pg_ctl: psql lives there.
        let dir = fs::canonicalize(dir.join("pg_ctl"))
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .filter(|real| has_server_binaries(real))
            .unwrap_or(dir);
        if !seen.insert(dir.clone()) {
            continue;
        }
        match server_version(&dir) {
            Some((major, version)) if major >= MIN_MAJOR => usable.push(PgBin { dir, major, version }),
            Some((_, version)) => notes.push(format!("{} is PostgreSQL {version}, too old", dir.display())),
            None => notes.push(format!("{}/postgres --version failed", dir.display())),
        }
    }
    let preferred = prefer_major.and_then(|want| usable.iter().position(|b| b.major.to_string() == want)).unwrap_or(0);
    if preferred < usable.len() {
        return Ok(usable.swap_remove(preferred));
    }
    let mut searched = match &override_dir {
        Some(dir) => format!("{BIN_DIR_ENV}={} does not hold initdb, pg_ctl and postgres", Path::new(dir).display()),
        None => format!("searched PATH and {}/*/bin", versions_root.display()),
    };
    for note in notes {
        let _ = write!(searched, "; {note}");
    }
    Err(EmbeddedPgError::BinariesNotFound { searched })
}

fn has_server_binaries(dir: &Path) -> bool {
    ["pg_ctl", "initdb", "postgres"].iter().all(|name| is_executable(&dir.join(name)))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| is_executable(p))
}

/// "15" -> (15, 0), "9.6" -> (9, 6).
fn parse_version_key(name: &str) -> Option<(u32, u32)> {
    let mut parts = name.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = match parts.next() {
        Some(m) => m.parse().ok()?,
        None => 0,
    };
    Some((major, minor))
}

/// `postgres --version` ("postgres (PostgreSQL) 15.18 (Debian ...)") -> (15, "15.18").
/// (`postgres` answers --version before its refusal to run as root.)
fn server_version(dir: &Path) -> Option<(u32, String)> {
    let out = Command::new(dir.join("postgres")).arg("--version").stdin(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rest = text.split_once("(PostgreSQL)").map_or(&*text, |(_, r)| r).trim();
    let version: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
    let major = version.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()?;
    Some((major, version))
}

fn read_cluster_version(data_dir: &Path) -> Option<String> {
    fs::read_to_string(data_dir.join("PG_VERSION")).ok().map(|s| s.trim().to_string())
}

fn c_utf8_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let listed =
            Command::new("locale").arg("-a").stdin(Stdio::null()).stderr(Stdio::null()).output().ok().filter(|o| o.status.success()).map(
                |o| {
                    String::from_utf8_lossy(&o.stdout).lines().any(|l| {
                        let l = l.trim().to_ascii_lowercase();
                        l == "c.utf8" || l == "c.utf-8"
                    })
                },
            );
        listed.unwrap_or_else(|| Path::new("/usr/lib/locale/C.utf8").exists() || Path::new("/usr/lib/locale/C.UTF-8").exists())
    })
}

// ---------------------------------------------------------------------------------------------
// Users, folders, processes

/// The user the server runs as: `None` (this process's user) unless we are root; then the owner
/// of an existing cluster, or the `postgres` account.
/// Whether a cluster this process starts runs under another user: it does when we are root
/// (PostgreSQL refuses to run as root), so the folders above its own must let that user pass.
pub fn runs_as_another_user() -> bool {
    unsafe { libc::geteuid() == 0 }
}

fn server_user(data_dir: &Path) -> Result<Option<RunAs>> {
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    if let Ok(meta) = fs::metadata(data_dir.join("PG_VERSION")) {
        let uid = fs::metadata(data_dir).map_or(meta.uid(), |m| m.uid());
        if uid == 0 {
            return Err(EmbeddedPgError::NoServerUser { reason: format!("the cluster in {} is owned by root", data_dir.display()) });
        }
        return lookup_user_by_uid(uid).map(Some).ok_or_else(|| EmbeddedPgError::NoServerUser {
            reason: format!("the cluster in {} is owned by uid {uid}, which has no account", data_dir.display()),
        });
    }
    server_user_for_new_cluster()
}

fn server_user_for_new_cluster() -> Result<Option<RunAs>> {
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    match lookup_user_by_name(SERVER_ACCOUNT) {
        Some(user) if user.uid != 0 => Ok(Some(user)),
        Some(_) => Err(EmbeddedPgError::NoServerUser { reason: format!("the `{SERVER_ACCOUNT}` account has uid 0") }),
        None => Err(EmbeddedPgError::NoServerUser { reason: format!("there is no `{SERVER_ACCOUNT}` account") }),
    }
}

fn lookup_user_by_name(name: &str) -> Option<RunAs> {
    let name = CString::new(name).ok()?;
    lookup_user(|pwd, buf, result| unsafe { libc::getpwnam_r(name.as_ptr(), pwd, buf.as_mut_ptr(), buf.len(), result) })
}

fn lookup_user_by_uid(uid: u32) -> Option<RunAs> {
    lookup_user(|pwd, buf, result| unsafe { libc::getpwuid_r(uid, pwd, buf.as_mut_ptr(), buf.len(), result) })
}

fn lookup_user(call: impl Fn(&mut libc::passwd, &mut [libc::c_char], &mut *mut libc::passwd) -> libc::c_int) -> Option<RunAs> {
    let mut buf = vec![0 as libc::c_char; 1 << 16];
    // SAFETY: passwd is plain data; zeroed is a valid (if meaningless) value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    if call(&mut pwd, &mut buf, &mut result) != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success the strings point into `buf`, which is alive here.
    let (name, home) = unsafe {
        (
            CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned(),
            PathBuf::from(OsStr::from_bytes(CStr::from_ptr(pwd.pw_dir).to_bytes())),
        )
    };
    Some(RunAs { name, uid: pwd.pw_uid, gid: pwd.pw_gid, home })
}

fn command_as(run_as: Option<&RunAs>, program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.as_bytes().starts_with(b"PG") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir("/").stdin(Stdio::null());
    if let Some(user) = run_as {
        // std drops supplementary groups (setgroups(0)) before setuid when we are root.
        cmd.uid(user.uid).gid(user.gid).env("HOME", &user.home).env("USER", &user.name).env("LOGNAME", &user.name);
    }
    cmd
}

fn run(cmd: &mut Command) -> Result<Output> {
    tracing::debug!(command = ?cmd, "running");
    cmd.output().map_err(|source| EmbeddedPgError::Spawn { program: PathBuf::from(cmd.get_program()), source })
}

/// The exit status and what the program said: its stderr, or its stdout if stderr is empty.
fn describe(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said = if stderr.trim().is_empty() { String::from_utf8_lossy(&out.stdout) } else { stderr };
    match said.trim() {
        "" => out.status.to_string(),
        said => format!("{}: {said}", out.status),
    }
}

fn tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> EmbeddedPgError + 'a {
    move |source| EmbeddedPgError::Io { action, path: path.to_path_buf(), source }
}

fn chown(path: &Path, user: &RunAs) -> Result<()> {
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).map_err(io_err("cannot chown", path))
}

/// Creates `dir` (mode 0700, owned by the server user) and any missing parents (mode 0755, so
/// that the server user can pass through them); an existing `dir` gets the same owner and a mode
/// PostgreSQL accepts.
fn ensure_private_dir(dir: &Path, run_as: Option<&RunAs>) -> Result<()> {
    let missing: Vec<&Path> =
        dir.ancestors().skip(1).take_while(|p| !p.as_os_str().is_empty() && fs::symlink_metadata(p).is_err()).collect();
    for parent in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(0o755).create(parent) {
            Ok(()) => {
                fs::set_permissions(parent, fs::Permissions::from_mode(0o755)).map_err(io_err("cannot set permissions of", parent))?
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("cannot create", parent)(e)),
        }
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("cannot create", dir)(e)),
    }
    let meta = fs::metadata(dir).map_err(io_err("cannot read", dir))?;
    if !meta.is_dir() {
        return Err(EmbeddedPgError::InvalidPath { path: dir.into(), reason: "not a directory".into() });
    }
    if let Some(user) = run_as {
        if meta.uid() != user.uid {
            chown(dir, user)?;
        }
    }
    let mode = meta.mode() & 0o7777;
    if mode != 0o700 && mode != 0o750 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err("cannot set permissions of", dir))?;
    }
    Ok(())
}

/// Checks that `user` can pass through every folder above `path` (root can; the server user may
/// not), both as written and with symlinks resolved.
fn check_reachable(path: &Path, user: &RunAs) -> Result<()> {
    let real = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    for p in path.ancestors().skip(1).chain(real.ancestors().skip(1)) {
        if p.as_os_str().is_empty() {
            continue;
        }
        let Ok(meta) = fs::metadata(p) else { continue };
        let mode = meta.mode();
        let searchable = if meta.uid() == user.uid {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !searchable {
            return Err(EmbeddedPgError::NotAccessible { path: p.into(), user: user.name.clone() });
        }
    }
    Ok(())
}

/// `pg_ctl` runs the server through `sh -c 'exec postgres -D "DATA" ... >> "DATA/server.log"'`,
/// so the data folder must not hold characters special inside double quotes.
fn check_shell_safe(data_dir: &Path) -> Result<()> {
    let bytes = data_dir.as_os_str().as_bytes();
    if let Some(c) = bytes.iter().find(|b| matches!(b, b'"' | b'$' | b'`' | b'\\' | b'\n' | b'\r')) {
        return Err(EmbeddedPgError::InvalidPath {
            path: data_dir.into(),
            reason: format!("pg_ctl cannot handle the character {:?} in it", *c as char),
        });
    }
    Ok(())
}

/// A socket folder must keep `DIR/.s.PGSQL.PORT` within `sun_path`, and be one plain entry of
/// unix_socket_directories (no commas, quotes, spaces) that survives pg_ctl's shell.
fn socket_dir_usable(dir: &Path, port_len: usize) -> bool {
    let bytes = dir.as_os_str().as_bytes();
    bytes.len() + "/.s.PGSQL.".len() + port_len <= MAX_SOCKET_PATH
        && !bytes.iter().any(|b| matches!(b, b',' | b'"' | b'\'' | b'\\' | b'$' | b'`') || b.is_ascii_whitespace())
}

fn shell_quote(s: &OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"))
}

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// Creates `parent/prefix-RANDOM` with mode 0700.
fn create_unique_dir(parent: &Path, prefix: &str) -> Result<PathBuf> {
    let mut last_err = None;
    for _ in 0..100 {
        let path = parent.join(format!("{prefix}-{}", random_suffix()));
        match fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(io_err("cannot create a folder in", parent)(e)),
        }
    }
    Err(io_err("cannot create a folder in", parent)(last_err.unwrap_or_else(|| io::Error::other("no free name"))))
}

/// A port number no TCP listener uses here. The server listens on no TCP address, so it only
/// names the socket file; a free one avoids confusing anyone who later turns TCP on.
fn pick_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(5432)
}

fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let exists = unsafe { libc::kill(pid, 0) } == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && !is_zombie(pid)
}

fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(false)
}

/// Percent-encodes all but unreserved characters (and `/` when `keep_slash`).
/// A sqlx/libpq URL for `database` over the Unix socket in `socket_dir`.
fn socket_url(socket_dir: &[u8], port: u16, database: &str) -> String {
    format!(
        "postgres://{SUPERUSER}@localhost/{}?host={}&port={port}&sslmode=disable",
        percent_encode(database.as_bytes(), false),
        percent_encode(socket_dir, true),
    )
}

fn percent_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const HELPER_ENV: &str = "DIIA_QR_PG_TEST_HELPER";
    const HELPER_TEST: &str = "subprocess_helper";

    const _: fn() = || {
        fn shareable<T: Send + Sync>() {}
        shareable::<EmbeddedPostgres>();
    };

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    /// Runs `sql` statements on `url` and returns the first column of the last one's first row.
    fn query_i32(url: &str, statements: &[&str]) -> i32 {
        block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| panic!("connect {url}: {e}"));
            let (last, init) = statements.split_last().unwrap();
            for sql in init {
                sqlx::query(sql).execute(&mut conn).await.unwrap();
            }
            let value: i32 = sqlx::query_scalar(last).fetch_one(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            value
        })
    }

    fn postmaster_pid(data_dir: &Path) -> i32 {
        fs::read_to_string(data_dir.join("postmaster.pid")).expect("postmaster.pid").lines().next().unwrap().trim().parse().unwrap()
    }

    /// Live processes whose command line mentions `needle` (the server, the watchdog).
    fn processes_mentioning(needle: &Path) -> Vec<String> {
        let needle = needle.as_os_str().as_bytes();
        let mut found = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if pid as u32 == std::process::id() || !process_alive(pid) {
                continue;
            }
            let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            if cmdline.windows(needle.len()).any(|w| w == needle) {
                found.push(format!("{pid}: {}", String::from_utf8_lossy(&cmdline).replace('\0', " ")));
            }
        }
        found
    }

    /// A folder under the temporary folder, removed when dropped (also when a test fails).
    struct ScratchDir(PathBuf);

    impl ScratchDir {
        fn new(mode: u32) -> Self {
            let dir = create_unique_dir(&std::env::temp_dir(), "diia-qr-pg-test").unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
            ScratchDir(dir)
        }
    }

    impl std::ops::Deref for ScratchDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Re-runs this test binary with only [`subprocess_helper`], in mode `mode`.
    fn run_helper(mode: &str, extra_env: &[(&str, &OsStr)]) -> String {
        let module = module_path!().split_once("::").map_or(module_path!(), |(_, m)| m);
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([&format!("{module}::{HELPER_TEST}"), "--exact", "--nocapture", "--test-threads=1"])
            .env(HELPER_ENV, mode)
            .stdin(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "helper {mode} failed: {}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        // The helper's output pipes close when it exits: nothing it left behind holds them.
        assert!(started.elapsed() < Duration::from_secs(60));
        stdout
    }

    fn helper_value<'a>(stdout: &'a str, key: &str) -> &'a str {
        let prefix = format!("HELPER {key}=");
        stdout
            .lines()
            .find_map(|l| l.split_once(&prefix).map(|(_, value)| value))
            .unwrap_or_else(|| panic!("no {key} in helper output:\n{stdout}"))
    }

    /// Does nothing in a normal run; the other tests run it in a child process.
    #[test]
    fn subprocess_helper() {
        use std::io::Write;
        let Ok(mode) = std::env::var(HELPER_ENV) else {
            return;
        };
        match mode.as_str() {
            "kill" => {
                let pg = EmbeddedPostgres::start_throwaway().unwrap();
                pg.create_database("orphan").unwrap();
                println!("HELPER DATA_DIR={}", pg.data_dir().display());
                println!("HELPER ROOT={}", pg.throwaway_root.as_ref().unwrap().display());
                println!("HELPER PID={}", postmaster_pid(pg.data_dir()));
                io::stdout().flush().unwrap();
                // Leave without dropping `pg`, as a test binary with a static cluster does.
                std::process::exit(0);
            }
            "missing_bins" => {
                let err = EmbeddedPostgres::start_throwaway().unwrap_err();
                assert!(matches!(err, EmbeddedPgError::BinariesNotFound { .. }), "{err:?}");
                println!("HELPER ERR={err}");
            }
            other => panic!("unknown helper mode {other}"),
        }
    }

    #[test]
    fn throwaway_cluster_serves_and_cleans_up() {
        let started = Instant::now();
        let pg = EmbeddedPostgres::start_throwaway().unwrap();
        eprintln!("start_throwaway took {:?}", started.elapsed());
        let root = pg.throwaway_root.clone().unwrap();
        let data_dir = pg.data_dir().to_path_buf();
        assert!(data_dir.join("PG_VERSION").exists());

        pg.create_database("embedded_pg_test").unwrap();
        pg.create_database("embedded_pg_test").unwrap();
        let url = pg.database_url("embedded_pg_test");
        assert!(url.starts_with("postgres://postgres@localhost/embedded_pg_test?host=/"), "{url}");
        assert_eq!(query_i32(&url, &["SELECT 1"]), 1);
        assert_eq!(
            query_i32(
                &url,
                &["SELECT (current_database() = 'embedded_pg_test'
                         AND current_setting('fsync') = 'off'
                         AND current_setting('listen_addresses') = ''
                         AND current_setting('server_encoding') = 'UTF8')::int"]
            ),
            1
        );
        assert!(matches!(pg.create_database("Bad-Name"), Err(EmbeddedPgError::InvalidDatabaseName { .. })));

        let pid = postmaster_pid(&data_dir);
        assert!(process_alive(pid));
        drop(pg);
        assert!(!root.exists(), "{} still exists", root.display());
        assert!(!process_alive(pid), "postmaster {pid} still alive");
        assert_eq!(processes_mentioning(&data_dir), Vec::<String>::new());
    }

    #[test]
    fn data_dir_cluster_survives_restart() {
        let base = ScratchDir::new(0o755);
        let data_dir = base.join("nested").join("data");

        let mut pg = EmbeddedPostgres::start(&data_dir).unwrap();
        let url = pg.database_url("postgres");
        assert_eq!(
            query_i32(
                &url,
                &[
                    "CREATE TABLE kept (x int)",
                    "INSERT INTO kept VALUES (42)",
                    "SELECT (current_setting('fsync') = 'on'
                             AND current_setting('listen_addresses') = '')::int",
                ]
            ),
            1
        );
        let pid = postmaster_pid(&data_dir);
        pg.stop().unwrap();
        pg.stop().unwrap();
        assert!(!process_alive(pid));
        assert!(!data_dir.join("postmaster.pid").exists());
        drop(pg);
        assert!(data_dir.join("PG_VERSION").exists(), "the cluster must be kept");

        let pg = EmbeddedPostgres::start(&data_dir).unwrap();
        assert_eq!(query_i32(&pg.database_url("postgres"), &["SELECT x FROM kept"]), 42);
        // A second owner on the same folder is refused while the first is alive.
        match EmbeddedPostgres::start(&data_dir) {
            Err(EmbeddedPgError::AlreadyRunning { .. }) => {}
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        let pid = postmaster_pid(&data_dir);
        drop(pg);
        assert!(!process_alive(pid));
        assert_eq!(processes_mentioning(&data_dir), Vec::<String>::new());
    }

    #[test]
    fn unreachable_parent_is_reported() {
        if unsafe { libc::geteuid() } != 0 {
            return; // only root hands the server to another user
        }
        let base = ScratchDir::new(0o700); // owned by root: `postgres` cannot enter
        let err = EmbeddedPostgres::start(&base.join("data")).unwrap_err();
        match &err {
            EmbeddedPgError::NotAccessible { path, .. } => assert_eq!(path, &base.0),
            other => panic!("expected NotAccessible, got {other:?}"),
        }
        assert!(err.to_string().contains("chmod o+x"), "{err}");
    }

    #[test]
    fn long_data_dir_gets_short_socket_dir() {
        let base = ScratchDir::new(0o755);
        let data_dir = base.join("a".repeat(60)).join("b".repeat(60));
        let pg = EmbeddedPostgres::start(&data_dir).unwrap();
        let socket_dir = pg.socket_dir().to_path_buf();
        assert!(pg.socket_dir_is_temp);
        assert!(!socket_dir.starts_with(&data_dir));
        assert_eq!(query_i32(&pg.database_url("postgres"), &["SELECT 7"]), 7);
        drop(pg);
        assert!(!socket_dir.exists());
    }

    #[test]
    fn missing_binaries_say_how_to_install() {
        let empty = ScratchDir::new(0o755);
        let err = locate_binaries(Some(empty.0.clone().into()), None, &empty, None).unwrap_err();
        assert!(err.to_string().contains("apt-get install postgresql"), "{err}");

        let stdout = run_helper("missing_bins", &[(BIN_DIR_ENV, empty.as_os_str())]);
        let message = helper_value(&stdout, "ERR");
        assert!(message.contains("apt-get install postgresql"), "{message}");
        assert!(message.contains("DATABASE_URL"), "{message}");
        assert!(message.contains(&empty.display().to_string()), "{message}");
    }

    #[test]
    fn server_dies_with_the_process_that_started_it() {
        let stdout = run_helper("kill", &[]);
        let data_dir = PathBuf::from(helper_value(&stdout, "DATA_DIR"));
        let root = PathBuf::from(helper_value(&stdout, "ROOT"));
        let pid: i32 = helper_value(&stdout, "PID").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = processes_mentioning(&data_dir);
            if !process_alive(pid) && left.is_empty() && !root.exists() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "20 s after its owner exited: postmaster {pid} alive={}, {} exists={}, processes={left:?}",
                process_alive(pid),
                root.display(),
                root.exists()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    #[test]
    fn urls_and_names() {
        assert_eq!(percent_encode(b"/tmp/a b,c", true), "/tmp/a%20b%2Cc");
        assert_eq!(parse_version_key("9.6"), Some((9, 6)));
        assert_eq!(parse_version_key("15"), Some((15, 0)));
        assert!(!socket_dir_usable(Path::new(&format!("/{}", "x".repeat(100))), 5));
        assert!(socket_dir_usable(Path::new("/tmp/diia-qr-pg-0123/data/run"), 5));
        assert!(!socket_dir_usable(Path::new("/tmp/a,b"), 5));
    }
}
