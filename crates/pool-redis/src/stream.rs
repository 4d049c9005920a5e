//! The job stream: how the producer adds jobs (pipelined), how a worker
//! takes the next one through the consumer group, and the bound on how many
//! jobs wait in it (`--queue`).

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use pool_core::{JobId, Jobs};
use redis::{Cmd, RedisResult, Value};

use crate::wire::Wire;

use crate::keys::{GROUP, Keys};

/// Jobs the producer sends per round trip.
const BATCH: usize = 512;

/// An entry a worker took from the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// A job.
    Job {
        /// The entry's stream id, to acknowledge it by.
        id: String,
        /// The job.
        job: JobId,
    },
    /// The end of the stream for one worker.
    Stop {
        /// The entry's stream id.
        id: String,
    },
}

/// `XREADGROUP` for one entry, waiting up to `block` if given.
pub(crate) fn read_cmd(keys: &Keys, consumer: &str, block: Option<Duration>) -> Cmd {
    let mut cmd = redis::cmd("XREADGROUP");
    cmd.arg("GROUP").arg(GROUP).arg(consumer).arg("COUNT").arg(1);
    if let Some(block) = block {
        cmd.arg("BLOCK").arg(block.as_millis().max(1) as u64);
    }
    cmd.arg("STREAMS").arg(&keys.jobs).arg(">");
    cmd
}

/// Acknowledges entry `id` (the job is done) and deletes it, so the stream
/// holds only jobs not yet done: with `--queue` its memory stays bounded.
pub(crate) fn add_ack(pipe: &mut redis::Pipeline, keys: &Keys, id: &str) {
    pipe.cmd("XACK").arg(&keys.jobs).arg(GROUP).arg(id).ignore();
    pipe.cmd("XDEL").arg(&keys.jobs).arg(id).ignore();
}

/// Acknowledges `done` (if any) and takes the next entry, in one round trip.
pub(crate) fn ack_and_read(
    conn: &mut Wire,
    keys: &Keys,
    consumer: &str,
    done: Option<&str>,
    block: Option<Duration>,
) -> RedisResult<Option<Taken>> {
    let mut pipe = redis::pipe();
    if let Some(id) = done {
        add_ack(&mut pipe, keys, id);
    }
    pipe.add_command(read_cmd(keys, consumer, block));
    let (reply,): (Value,) = pipe.query(conn)?;
    parse_read(&reply)
}

/// Acknowledges and deletes one entry.
pub(crate) fn ack(conn: &mut Wire, keys: &Keys, id: &str) -> RedisResult<()> {
    let mut pipe = redis::pipe();
    add_ack(&mut pipe, keys, id);
    pipe.exec(conn)
}

fn bad_reply(what: &str, v: &Value) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "unexpected reply from the broker",
        format!("{what}: {v:?}"),
    ))
}

/// Reads an `XREADGROUP` reply: nil, or `[[key, [[id, [field, value, ..]]]]]`.
pub(crate) fn parse_read(reply: &Value) -> RedisResult<Option<Taken>> {
    let streams = match reply {
        Value::Nil => return Ok(None),
        Value::Array(streams) => streams,
        other => return Err(bad_reply("XREADGROUP", other)),
    };
    let Some(Value::Array(stream)) = streams.first() else { return Ok(None) };
    let Some(Value::Array(entries)) = stream.get(1) else { return Err(bad_reply("XREADGROUP", reply)) };
    match entries.first() {
        None => Ok(None),
        Some(entry) => parse_entry(entry).map(Some),
    }
}

/// Reads one stream entry, `[id, [field, value, ..]]`.
pub(crate) fn parse_entry(entry: &Value) -> RedisResult<Taken> {
    let Value::Array(parts) = entry else { return Err(bad_reply("entry", entry)) };
    let (Some(id), Some(Value::Array(fields))) = (parts.first().and_then(text), parts.get(1)) else {
        return Err(bad_reply("entry", entry));
    };
    let field = |name: &str| {
        fields.chunks(2).find(|kv| text(&kv[0]).as_deref() == Some(name)).and_then(|kv| kv.get(1)).and_then(text)
    };
    if let Some(job) = field("j").and_then(|j| j.parse().ok()) {
        Ok(Taken::Job { id, job: JobId(job) })
    } else if field("stop").is_some() {
        Ok(Taken::Stop { id })
    } else {
        Err(bad_reply("entry", entry))
    }
}

/// A string-like reply as text.
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Adds the jobs of `jobs` to the stream, [`BATCH`] per round trip, taking
/// a permit for each if the queue is bounded; then `stops` stop entries.
/// Returns how many jobs it added.
pub(crate) fn produce(
    conn: &mut Wire,
    keys: &Keys,
    mut jobs: Jobs<impl Iterator<Item = JobId>>,
    permits: Option<&Permits>,
    stops: u32,
) -> RedisResult<u64> {
    let mut pipe = redis::pipe();
    let mut pending = 0;
    let mut added = 0;
    loop {
        // Jobs arriving over time: what has arrived goes out before the
        // stream waits for the next, not when a batch is full.
        if pending > 0 && jobs.not_yet() {
            pipe.exec(conn)?;
            pipe = redis::pipe();
            pending = 0;
        }
        let Some(job) = jobs.next() else { break };
        if let Some(permits) = permits {
            if !permits.try_acquire() {
                // Send what we hold before waiting: the workers free
                // permits only by taking jobs.
                if pending > 0 {
                    pipe.exec(conn)?;
                    pipe = redis::pipe();
                    pending = 0;
                }
                if !permits.acquire() {
                    break;
                }
            }
        }
        pipe.cmd("XADD").arg(&keys.jobs).arg("*").arg("j").arg(job.0).ignore();
        pending += 1;
        added += 1;
        if pending == BATCH {
            pipe.exec(conn)?;
            pipe = redis::pipe();
            pending = 0;
        }
    }
    for _ in 0..stops {
        pipe.cmd("XADD").arg(&keys.jobs).arg("*").arg("stop").arg(1).ignore();
        pending += 1;
    }
    if pending > 0 {
        pipe.exec(conn)?;
    }
    Ok(added)
}

/// The bound of a `--queue N` run: the producer takes a permit for each job
/// it adds, a worker gives one back for each job it takes, so at most N jobs
/// wait in the stream.
#[derive(Debug)]
pub(crate) struct Permits {
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl Permits {
    pub(crate) fn new(n: usize) -> Self {
        Permits { state: Mutex::new((n, false)), changed: Condvar::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, bool)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a permit if one is free.
    pub(crate) fn try_acquire(&self) -> bool {
        let mut state = self.lock();
        let free = state.0 > 0 && !state.1;
        if free {
            state.0 -= 1;
        }
        free
    }

    /// Waits for a permit; `false` once closed.
    pub(crate) fn acquire(&self) -> bool {
        let mut state = self.lock();
        loop {
            if state.1 {
                return false;
            }
            if state.0 > 0 {
                state.0 -= 1;
                return true;
            }
            state = self.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Gives a permit back.
    pub(crate) fn release(&self) {
        self.lock().0 += 1;
        self.changed.notify_one();
    }

    /// No more jobs will be taken: a waiting producer stops.
    pub(crate) fn close(&self) {
        self.lock().1 = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn reads_jobs_and_stops_from_replies() {
        let reply = |f: &str, v: &str| {
            Value::Array(vec![Value::Array(vec![
                bulk("wp:{r}:jobs"),
                Value::Array(vec![Value::Array(vec![bulk("1-0"), Value::Array(vec![bulk(f), bulk(v)])])]),
            ])])
        };
        assert_eq!(parse_read(&reply("j", "7")).unwrap(), Some(Taken::Job { id: "1-0".into(), job: JobId(7) }));
        assert_eq!(parse_read(&reply("stop", "1")).unwrap(), Some(Taken::Stop { id: "1-0".into() }));
        assert_eq!(parse_read(&Value::Nil).unwrap(), None);
        assert!(parse_read(&reply("x", "1")).is_err());
        assert!(parse_read(&Value::Int(3)).is_err());
    }

    #[test]
    fn permits_bound_and_close() {
        let p = Permits::new(2);
        assert!(p.try_acquire() && p.try_acquire() && !p.try_acquire());
        p.release();
        assert!(p.acquire());
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                p.close();
            });
            assert!(!p.acquire(), "a closed bound stops the producer");
        });
    }
}
