//! [`Wire`]: a broker connection on which one round trip waits for one
//! timeout at most, however many replies it expects; the timeouts, and how
//! a client error is said.
//!
//! The client reads a pipeline's replies one by one, each with the socket's
//! receive timeout, and reads on after a timeout to stay in step: against a
//! broker that stopped answering (paused, or a network that dropped us) a
//! pipeline of N commands waited N timeouts, a producer's batch of 512 the
//! better part of an hour. `Wire` stops at the first failed reply instead;
//! the connection is then out of step with the server, so it refuses every
//! later command at once.

use std::io;
use std::time::Duration;

use redis::{ConnectionLike, RedisError, RedisResult, Value};

/// How long connecting to the broker may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a blocking read waits at the server before it returns empty.
pub(crate) const BLOCK: Duration = Duration::from_millis(500);
/// How long any reply may take beyond [`BLOCK`] before the broker counts as
/// gone (a server that stopped answering, a network that dropped us).
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// A short description of a client error, with no URL or password in it.
pub(crate) fn describe(e: &RedisError) -> String {
    if e.is_timeout() {
        // The socket's timeout, said as what it means here.
        let waited = humantime::format_duration(BLOCK + REPLY_TIMEOUT);
        return format!("it stopped answering (nothing for {waited})");
    }
    let text = e.to_string();
    // The client adds " - KindName" to its own errors; the first part says it.
    let text = text.split(" - ").next().unwrap_or(&text).trim().to_owned();
    if text.is_empty() { format!("{:?}", e.kind()) } else { text }
}

/// A connection to the broker (see the module docs).
pub(crate) struct Wire {
    conn: redis::Connection,
    /// A reply was lost: what comes next on the socket answers an earlier
    /// command.
    broken: bool,
}

impl Wire {
    /// Wraps `conn`, whose timeouts are already set.
    pub(crate) fn new(conn: redis::Connection) -> Self {
        Wire { conn, broken: false }
    }

    /// Sets how long one reply may take from now on.
    pub(crate) fn set_read_timeout(&self, timeout: Duration) -> RedisResult<()> {
        self.conn.set_read_timeout(Some(timeout))
    }
}

impl ConnectionLike for Wire {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        let mut replies = self.req_packed_commands(cmd, 0, 1)?;
        Ok(replies.pop().unwrap_or(Value::Nil))
    }

    fn req_packed_commands(&mut self, cmd: &[u8], offset: usize, count: usize) -> RedisResult<Vec<Value>> {
        if self.broken {
            let why = "an earlier reply from the broker never came";
            return Err(io::Error::new(io::ErrorKind::NotConnected, why).into());
        }
        let mut replies = Vec::with_capacity(count);
        let sent = self.conn.send_packed_command(cmd);
        let read = sent.and_then(|()| {
            // The replies of `offset` leading commands (a transaction's
            // MULTI and its QUEUED) are read and dropped.
            while replies.len() < offset + count {
                match self.conn.recv_response()? {
                    // Out-of-band data (RESP3) answers no command.
                    Value::Push { .. } => {}
                    reply => replies.push(reply),
                }
            }
            Ok(())
        });
        if let Err(e) = read {
            self.broken = true;
            return Err(e);
        }
        replies.drain(..offset);
        Ok(replies)
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }

    fn check_connection(&mut self) -> bool {
        redis::cmd("PING").query::<String>(self).is_ok()
    }

    fn is_open(&self) -> bool {
        !self.broken && self.conn.is_open()
    }
}
