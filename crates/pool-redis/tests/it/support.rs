//! A Redis server of the test's own, and helpers to drive the binary.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pool-redis");

/// `pool-redis` with `args`, not reading a broker URL or CA from the environment.
pub fn pool_redis(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove(pool_redis::URL_ENV)
        .env_remove(pool_redis::CA_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A `redis-server` on a unix socket in a temporary folder, killed on drop.
pub struct Server {
    child: Option<Child>,
    dir: PathBuf,
    socket: PathBuf,
}

impl Server {
    /// Starts one with these extra arguments (`--requirepass x`, say).
    pub fn start(extra: &[&str]) -> Server {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir =
            std::env::temp_dir().join(format!("pool-redis-test-{}-{}", std::process::id(), N.fetch_add(1, Relaxed)));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("s.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (apt-get install redis-server)");
        let start = Instant::now();
        while UnixStream::connect(&socket).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "test redis-server did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        Server { child: Some(child), dir, socket }
    }

    /// Its URL (`?pass=` appended if given).
    pub fn url(&self, pass: Option<&str>) -> String {
        let url = format!("unix://{}", self.socket.display());
        match pass {
            Some(p) => format!("{url}?pass={p}"),
            None => url,
        }
    }

    /// Every key on it (the server must have no password).
    pub fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(self.url(None).as_str()).unwrap();
        let mut conn = client.get_connection().unwrap();
        redis::cmd("KEYS").arg("*").query(&mut conn).unwrap()
    }

    /// Every key on it with its time to live in ms (-1: none).
    pub fn ttls(&self) -> Vec<(String, i64)> {
        let client = redis::Client::open(self.url(None).as_str()).unwrap();
        let mut conn = client.get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
        keys.into_iter().map(|k| (k.clone(), redis::cmd("PTTL").arg(&k).query(&mut conn).unwrap())).collect()
    }

    /// Pauses it (SIGSTOP): the broker is there but answers nothing, as
    /// one whose host froze or whose network dropped us.
    pub fn pause(&self) {
        use nix::sys::signal::{Signal, kill};
        let child = self.child.as_ref().expect("the server runs");
        kill(nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()), Signal::SIGSTOP).unwrap();
    }

    /// Kills it (SIGKILL): the broker is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The lines a child writes on stdout, collected as they come.
#[derive(Clone)]
pub struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    pub fn collect(stdout: ChildStdout) -> Lines {
        let lines = Lines(Arc::default());
        let shared = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                shared.0.lock().unwrap().push(line);
            }
        });
        lines
    }

    /// Waits until `ready` holds for the lines so far.
    pub fn wait_for(&self, what: &str, limit: Duration, ready: impl Fn(&[String]) -> bool) {
        let start = Instant::now();
        while !ready(&self.0.lock().unwrap()) {
            assert!(start.elapsed() < limit, "{what}: not within {limit:?}; lines so far:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Everything so far, one line each.
    pub fn text(&self) -> String {
        self.0.lock().unwrap().iter().map(|l| format!("{l}\n")).collect()
    }
}

/// Waits for `child` to exit within `limit` (killing it and failing if not),
/// and returns its status and stderr.
pub fn finish(child: &mut Child, what: &str, limit: Duration) -> (ExitStatus, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{what}: still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr).unwrap();
    }
    (status, stderr)
}

/// Sends SIGINT to `child`.
pub fn interrupt(child: &Child) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), Signal::SIGINT).expect("signal the child");
}
