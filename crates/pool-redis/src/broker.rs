//! The broker of a run: the Redis server given by `--redis URL` (or
//! [`URL_ENV`](crate::URL_ENV)), over TLS for a `rediss://` URL (with the
//! roots of `--redis-ca FILE` or [`CA_ENV`](crate::CA_ENV), see
//! [`tls`](crate::tls)), or a private `redis-server` started from PATH for
//! the run and stopped after it.
//!
//! A private server listens only on a unix socket in a fresh temporary
//! folder, keeps nothing on disk (`--save "" --appendonly no`) and runs in a
//! process group of its own, so the terminal's Ctrl-C reaches this process
//! and not the server under it. It is stopped by [`PrivateServer`]'s `Drop`
//! (the end of a run, a failure, a drained Ctrl-C), and, if this process
//! dies without unwinding (a second Ctrl-C quits at once, SIGKILL), by a
//! small `sh` reaper that reads a pipe from us: the kernel closes the pipe
//! when we go, and the reaper stops the server and removes the folder.
//!
//! On Windows, which has no unix sockets for Redis, the private server
//! listens on TCP at `127.0.0.1` on a port that was free a moment before,
//! in a process group of its own (so Ctrl-C is not sent to it), and there
//! is no reaper: a process killed outright leaves its server running.
//! Windows users seldom have a `redis-server`; they pass `--redis URL`.

use std::fs::{self, DirBuilder, File};
use std::io::Write as _;
#[cfg(unix)]
use std::os::unix::{fs::DirBuilderExt, net::UnixStream, process::CommandExt};
#[cfg(windows)]
use std::os::windows::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use pool_core::PoolError;
use redis::{ConnectionAddr, IntoConnectionInfo, RedisError};

use crate::tls::{CA_ENV, CaFile, check_ca, describe_tls};
use crate::url::{BrokerUrl, URL_ENV};
use crate::wire::{BLOCK, CONNECT_TIMEOUT, REPLY_TIMEOUT, Wire, describe};

/// How long a private server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The one line printed when no broker is given and none can be started.
pub const NO_SERVER: &str = "no redis-server on PATH to start a private broker: install one (Debian/Ubuntu: \
     apt-get install redis-server; macOS: brew install redis; Windows has none of its own: a Redis in WSL, \
     Docker or Memurai) or pass --redis URL (or set POOL_REDIS_URL)";

/// A connected broker: the client, how to name it in messages, and the
/// private server if this run started one.
pub(crate) struct Broker {
    client: redis::Client,
    shown: String,
    /// The roots a `rediss://` broker is checked against, to name them
    /// when it does not verify.
    ca: Option<CaFile>,
    /// Held only to be dropped: its `Drop` stops the server.
    _private: Option<PrivateServer>,
}

impl Broker {
    /// The broker at `url`, or at `$POOL_REDIS_URL`, or a private server;
    /// a `rediss://` one checked against `ca` (or `$POOL_REDIS_CA`), or
    /// else the system's roots.
    pub(crate) fn open(url: Option<&BrokerUrl>, ca: Option<&CaFile>) -> Result<Broker, PoolError> {
        let from_env;
        let url = match url {
            Some(url) => Some(url),
            None => match std::env::var(URL_ENV) {
                Ok(text) if !text.is_empty() => {
                    from_env =
                        BrokerUrl::parse(&text).map_err(|why| PoolError::Substrate(format!("${URL_ENV} is {why}")))?;
                    Some(&from_env)
                }
                _ => None,
            },
        };
        let ca_from_env;
        let ca = match ca {
            Some(ca) => Some(ca),
            None => match std::env::var_os(CA_ENV) {
                Some(path) if !path.is_empty() => {
                    ca_from_env =
                        CaFile::read(path.as_ref()).map_err(|why| PoolError::Substrate(format!("${CA_ENV}: {why}")))?;
                    Some(&ca_from_env)
                }
                _ => None,
            },
        };
        check_ca(url, ca).map_err(PoolError::Substrate)?;
        let broker = match url {
            Some(url) => {
                let client = crate::tls::client(url, ca)
                    .map_err(|e| PoolError::Substrate(format!("--redis {url}: {}", describe(&e))))?;
                Broker { client, shown: url.redacted(), ca: ca.cloned(), _private: None }
            }
            None => {
                let server = PrivateServer::start()?;
                let info = server.addr().into_connection_info().map_err(|e| PoolError::Substrate(describe(&e)))?;
                let client = redis::Client::open(info).map_err(|e| PoolError::Substrate(describe(&e)))?;
                Broker { client, shown: server.url(), ca: None, _private: Some(server) }
            }
        };
        // Fail here, once, if the broker cannot be reached or refuses us
        // (a TLS handshake and a missing password show on the first command).
        let mut conn = broker.connect()?;
        redis::cmd("PING").exec(&mut conn).map_err(|e| broker.refused(&e))?;
        Ok(broker)
    }

    /// The broker's address for messages (credentials masked), and the
    /// URL other processes reach it by.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// The flags that give a worker process this broker: `--redis URL`
    /// (masked), and `--redis-ca FILE` if one was given.
    pub(crate) fn worker_flags(&self) -> String {
        match &self.ca {
            Some(ca) => format!("--redis {} --redis-ca {}", self.shown, ca.path().display()),
            None => format!("--redis {}", self.shown),
        }
    }

    /// A new connection, with timeouts so that a broker that goes away is
    /// noticed within [`BLOCK`] + [`REPLY_TIMEOUT`] of a round trip.
    pub(crate) fn connect(&self) -> Result<Wire, PoolError> {
        let refused = |e: RedisError| self.refused(&e);
        let conn = self.client.get_connection_with_timeout(CONNECT_TIMEOUT).map_err(refused)?;
        conn.set_read_timeout(Some(BLOCK + REPLY_TIMEOUT)).map_err(refused)?;
        conn.set_write_timeout(Some(REPLY_TIMEOUT)).map_err(refused)?;
        Ok(Wire::new(conn))
    }

    /// The error for a connection the broker could not be reached on, or
    /// refused.
    fn refused(&self, e: &RedisError) -> PoolError {
        let why = describe_tls(e, self.ca.as_ref()).or_else(|| credentials_refused(e)).unwrap_or_else(|| describe(e));
        PoolError::Substrate(format!("cannot reach the broker at {}: {why}", self.shown))
    }

    /// The error for a command that failed mid-run.
    pub(crate) fn lost(&self, e: &RedisError) -> PoolError {
        PoolError::Substrate(format!("lost the broker at {}: {}", self.shown, describe(e)))
    }
}

/// What a refusal of our credentials means, or `None` when `e` is none.
fn credentials_refused(e: &RedisError) -> Option<String> {
    match (e.kind(), e.code()) {
        (redis::ErrorKind::AuthenticationFailed, _) | (_, Some("WRONGPASS")) => {
            Some("it refused the user and password in the URL (wrong password, or no such user)".to_owned())
        }
        (_, Some("NOAUTH")) => {
            Some("it requires a password and the URL gives none (redis[s]://[USER]:PASSWORD@HOST[:PORT])".to_owned())
        }
        _ => None,
    }
}

/// A `redis-server` of our own, on a unix socket in a temporary folder (on
/// Windows: TCP on 127.0.0.1); dropping it stops the server and removes the
/// folder.
pub struct PrivateServer {
    server: Child,
    /// The write end of the reaper's pipe; dropping it tells the reaper to
    /// stop the server.
    reaper_pipe: Option<ChildStdin>,
    reaper: Option<Child>,
    dir: PathBuf,
    #[cfg(unix)]
    socket: PathBuf,
    #[cfg(not(unix))]
    port: u16,
}

/// The reaper: waits for a line on its standard input. `done` means we
/// stopped the server ourselves; end of file means we ended without
/// unwinding, so it kills the server (SIGKILL: the server keeps nothing, and
/// it may have been started with termination signals held back, which it
/// inherits). Either way it removes the folder.
#[cfg(unix)]
const REAPER: &str = r#"read line; if [ "$line" != done ]; then kill -KILL "$1" 2>/dev/null; n=0; while kill -0 "$1" 2>/dev/null && [ $n -lt 300 ]; do sleep 0.01; n=$((n+1)); done; fi; rm -rf "$2""#;

/// Finds `name` in the directories of `$PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&path).map(|dir| dir.join(&file)).find(|p| p.is_file())
}

/// Numbers this process's private brokers' folders.
static COUNTER: AtomicU32 = AtomicU32::new(0);

impl PrivateServer {
    /// Starts one from PATH and waits until it accepts connections.
    pub fn start() -> Result<PrivateServer, PoolError> {
        // A signal between starting the server and starting its reaper
        // would leave the server running after we end: hold signals until
        // both run (the children start with an empty mask).
        let _held = crate::signals::hold();
        let fail = |what: &str, e: std::io::Error| {
            PoolError::Substrate(format!("cannot start a private redis-server: {what}: {e}"))
        };
        let exe = find_on_path("redis-server").ok_or_else(|| PoolError::Substrate(NO_SERVER.to_owned()))?;
        // A folder of our own, made fresh: a name left behind by an earlier
        // process with the same id (one killed before its reaper ran) is
        // skipped, not reused.
        let dir = loop {
            let dir = std::env::temp_dir().join(format!(
                "pool-redis-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Relaxed)
            ));
            #[cfg_attr(not(unix), allow(unused_mut))]
            let mut folder = DirBuilder::new();
            #[cfg(unix)]
            folder.mode(0o700);
            match folder.create(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(fail(&format!("{}", dir.display()), e)),
            }
        };
        let log = File::create(dir.join("redis.log")).map_err(|e| fail("its log file", e))?;
        let log_err = log.try_clone().map_err(|e| fail("its log file", e))?;
        let mut command = Command::new(&exe);
        #[cfg(unix)]
        let socket = dir.join("redis.sock");
        #[cfg(unix)]
        command.args(["--port", "0", "--unixsocket"]).arg(&socket).args(["--unixsocketperm", "700"]).process_group(0);
        #[cfg(not(unix))]
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| fail("a free port on 127.0.0.1", e))?
            .port();
        #[cfg(not(unix))]
        command.args(["--bind", "127.0.0.1", "--port", &port.to_string()]);
        // CREATE_NEW_PROCESS_GROUP: the console's Ctrl-C is not sent to it.
        #[cfg(windows)]
        command.creation_flags(0x0000_0200);
        let spawned = command
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--loglevel", "warning", "--logfile", "", "--dir"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn();
        let server = match spawned {
            Ok(server) => server,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(fail(&exe.display().to_string(), e));
            }
        };
        #[cfg(unix)]
        let reaper = Command::new("/bin/sh")
            .args(["-c", REAPER, "pool-redis-reaper"])
            .arg(server.id().to_string())
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        #[cfg(unix)]
        let mut reaper = match reaper {
            Ok(reaper) => reaper,
            Err(e) => {
                let mut server = server;
                let _ = server.kill();
                let _ = server.wait();
                let _ = fs::remove_dir_all(&dir);
                return Err(fail("/bin/sh", e));
            }
        };
        #[cfg(unix)]
        let mut this = PrivateServer { server, reaper_pipe: reaper.stdin.take(), reaper: Some(reaper), dir, socket };
        #[cfg(not(unix))]
        let mut this = PrivateServer { server, reaper_pipe: None, reaper: None, dir, port };
        this.wait_ready()?;
        Ok(this)
    }

    /// Waits until the server accepts connections on its socket.
    fn wait_ready(&mut self) -> Result<(), PoolError> {
        let start = Instant::now();
        loop {
            #[cfg(unix)]
            let listening = UnixStream::connect(&self.socket).is_ok();
            #[cfg(not(unix))]
            let listening = std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok();
            if listening {
                return Ok(());
            }
            let ended = self.server.try_wait().ok().flatten();
            if ended.is_some() || start.elapsed() > START_TIMEOUT {
                let why = last_line(&self.dir.join("redis.log"))
                    .unwrap_or_else(|| format!("not listening after {START_TIMEOUT:?}"));
                return Err(PoolError::Substrate(format!("the private redis-server did not start: {why}")));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Its URL, `unix:///…/redis.sock` (on Windows `redis://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        #[cfg(unix)]
        return format!("unix://{}", self.socket.display());
        #[cfg(not(unix))]
        return format!("redis://127.0.0.1:{}", self.port);
    }

    /// Where the client reaches it.
    fn addr(&self) -> ConnectionAddr {
        #[cfg(unix)]
        return ConnectionAddr::Unix(self.socket.clone());
        #[cfg(not(unix))]
        return ConnectionAddr::Tcp("127.0.0.1".to_owned(), self.port);
    }
}

/// The last non-empty line of a file, if any.
fn last_line(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim().to_owned())
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        // It keeps nothing, so SIGKILL loses nothing. The server is our
        // child until waited for, so its pid cannot be reused before then.
        let _ = self.server.kill();
        let _ = self.server.wait();
        if let Some(mut pipe) = self.reaper_pipe.take() {
            let _ = pipe.write_all(b"done\n");
        }
        if let Some(reaper) = &mut self.reaper {
            let _ = reaper.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process killed before its reaper ran leaves its folder; a later
    /// process with the same id must not fail on it (nor take it over).
    #[test]
    #[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
    fn a_folder_left_under_our_name_is_skipped() {
        let next = COUNTER.load(Relaxed);
        let stale: Vec<PathBuf> = (next..next + 4)
            .map(|n| std::env::temp_dir().join(format!("pool-redis-{}-{n}", std::process::id())))
            .collect();
        for dir in &stale {
            fs::create_dir_all(dir).unwrap();
            fs::write(dir.join("left-behind"), "").unwrap();
        }
        let server = PrivateServer::start().expect("a private redis-server beside the stale folders");
        assert!(!stale.contains(&server.dir), "took over {}", server.dir.display());
        drop(server);
        for dir in &stale {
            assert!(dir.join("left-behind").exists(), "{} was touched", dir.display());
            fs::remove_dir_all(dir).unwrap();
        }
    }
}
