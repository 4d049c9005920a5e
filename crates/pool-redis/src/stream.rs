//! The job stream: how the producer adds jobs (pipelined), how a worker
//! takes the next one through the consumer group, and the bound on how many
//! jobs wait in it (`--queue`).

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use pool_core::{JobId, Jobs, Run, WorkerId};
use redis::{Cmd, RedisResult, Value};

use crate::wire::Wire;

use crate::keys::{GROUP, Keys};

/// Entries the producer sends per round trip.
const BATCH: usize = 512;

/// The most jobs one entry holds (the tuned flavor).
pub(crate) const RUN_MAX: usize = 64;

/// An entry a worker took from the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// A job.
    Job {
        /// The entry's stream id, to acknowledge it by.
        id: String,
        /// The job.
        job: JobId,
        /// The worker that handed it back unfinished (stopped by a signal,
        /// see [`HANDBACK`](crate::scripts::HANDBACK)): the taker logs it
        /// as reclaimed from that worker.
        from: Option<WorkerId>,
    },
    /// The end of the stream for one worker.
    Stop {
        /// The entry's stream id.
        id: String,
    },
}

/// `XREADGROUP` for one entry, waiting up to `block` if given.
pub(crate) fn read_cmd(keys: &Keys, consumer: &str, block: Option<Duration>) -> Cmd {
    read_many_cmd(keys, consumer, 1, block)
}

/// `XREADGROUP` for up to `count` entries, waiting up to `block` if given.
pub(crate) fn read_many_cmd(keys: &Keys, consumer: &str, count: usize, block: Option<Duration>) -> Cmd {
    let mut cmd = redis::cmd("XREADGROUP");
    cmd.arg("GROUP").arg(GROUP).arg(consumer).arg("COUNT").arg(count.max(1));
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

/// An entry the tuned flavor took: a run of consecutive jobs (one entry
/// for several short jobs), or a stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Claimed {
    /// Jobs `run.first ..` (`run.len` of them).
    Run {
        /// The entry's stream id.
        id: String,
        /// The jobs.
        run: Run,
        /// The worker that handed them back (distributed mode, see
        /// [`Taken::Job`]).
        from: Option<WorkerId>,
    },
    /// The end of the stream for one worker.
    Stop {
        /// The entry's stream id.
        id: String,
    },
}

/// Acknowledges the entries `ids` (a batch, in stream order) in one
/// command, and trims the stream of whole nodes before the first of them:
/// entries are delivered in order, so every one before it has been taken.
/// Trimming frees memory as `XDEL` does, without the broker searching its
/// nodes for each id (which cost it more than the rest of a job). Local
/// mode only: there nobody takes over a job from the stream.
pub(crate) fn add_ack_many(pipe: &mut redis::Pipeline, keys: &Keys, ids: &[String]) {
    if let Some(first) = ids.first() {
        pipe.cmd("XACK").arg(&keys.jobs).arg(GROUP).arg(ids).ignore();
        pipe.cmd("XTRIM").arg(&keys.jobs).arg("MINID").arg("~").arg(first).ignore();
    }
}

/// Acknowledges the entries `done` and takes up to `count` more, in one
/// round trip.
pub(crate) fn ack_and_read_many(
    conn: &mut Wire,
    keys: &Keys,
    consumer: &str,
    done: &[String],
    count: usize,
    block: Option<Duration>,
) -> RedisResult<Vec<Claimed>> {
    let mut pipe = redis::pipe();
    add_ack_many(&mut pipe, keys, done);
    pipe.add_command(read_many_cmd(keys, consumer, count, block));
    let (reply,): (Value,) = pipe.query(conn)?;
    parse_claimed(&reply)
}

/// Reads an `XREADGROUP` reply of the tuned flavor: entries of runs of
/// jobs, or stops.
pub(crate) fn parse_claimed(reply: &Value) -> RedisResult<Vec<Claimed>> {
    entries(reply)?.iter().map(claimed_entry).collect()
}

/// Reads one entry of the tuned flavor's stream.
pub(crate) fn claimed_entry(entry: &Value) -> RedisResult<Claimed> {
    let (id, holds) = read_entry(entry)?;
    Ok(match holds {
        Holds::Jobs { first, len } => Claimed::Run { id, run: Run { first, len }, from: handed_back_by(entry)? },
        Holds::Stop => Claimed::Stop { id },
    })
}

/// The worker an entry was handed back by (its `from` field), if any.
fn handed_back_by(entry: &Value) -> RedisResult<Option<WorkerId>> {
    let from = entry_field(entry, "from").map(|k| k.parse().map(WorkerId)).transpose();
    from.map_err(|_| bad_reply("entry", entry))
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

/// A worker's last round trip: acknowledges and deletes the entries `ids`
/// and adds `stops` stop entries back for the workers still running.
pub(crate) fn finish(conn: &mut Wire, keys: &Keys, ids: &[String], stops: usize) -> RedisResult<()> {
    let mut pipe = redis::pipe();
    add_ack_many(&mut pipe, keys, ids);
    for _ in 0..stops {
        add_stop(&mut pipe, keys);
    }
    if ids.is_empty() && stops == 0 { Ok(()) } else { pipe.exec(conn) }
}

/// A stop entry: the end of the stream for one worker.
fn add_stop(pipe: &mut redis::Pipeline, keys: &Keys) {
    pipe.cmd("XADD").arg(&keys.jobs).arg("*").arg("stop").arg(1).ignore();
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

/// Reads an `XREADGROUP` reply for one entry (a textbook stream: one job
/// an entry).
pub(crate) fn parse_read(reply: &Value) -> RedisResult<Option<Taken>> {
    entries(reply)?.first().map(parse_entry).transpose()
}

/// The entries of an `XREADGROUP` reply: nil, or
/// `[[key, [[id, [field, value, ..]], ..]]]`.
fn entries(reply: &Value) -> RedisResult<&[Value]> {
    let streams = match reply {
        Value::Nil => return Ok(&[]),
        Value::Array(streams) => streams,
        other => return Err(bad_reply("XREADGROUP", other)),
    };
    let Some(Value::Array(stream)) = streams.first() else { return Ok(&[]) };
    let Some(Value::Array(entries)) = stream.get(1) else { return Err(bad_reply("XREADGROUP", reply)) };
    Ok(entries)
}

/// What an entry holds: jobs `first ..` (`len` of them), or a stop.
enum Holds {
    Jobs { first: u64, len: u64 },
    Stop,
}

/// Field `name` of a stream entry, `[id, [field, value, ..]]`.
fn entry_field(entry: &Value, name: &str) -> Option<String> {
    let Value::Array(parts) = entry else { return None };
    let Some(Value::Array(fields)) = parts.get(1) else { return None };
    fields.chunks(2).find(|kv| text(&kv[0]).as_deref() == Some(name)).and_then(|kv| kv.get(1)).and_then(text)
}

/// Reads one stream entry, `[id, [field, value, ..]]`: `j` (a job), with
/// `n` (how many consecutive jobs from it) if more than one, or `stop`.
fn read_entry(entry: &Value) -> RedisResult<(String, Holds)> {
    let Value::Array(parts) = entry else { return Err(bad_reply("entry", entry)) };
    let (Some(id), Some(Value::Array(fields))) = (parts.first().and_then(text), parts.get(1)) else {
        return Err(bad_reply("entry", entry));
    };
    let field = |name: &str| {
        fields.chunks(2).find(|kv| text(&kv[0]).as_deref() == Some(name)).and_then(|kv| kv.get(1)).and_then(text)
    };
    let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok());
    if let Some(first) = number("j") {
        match field("n") {
            None => Ok((id, Holds::Jobs { first, len: 1 })),
            Some(_) => match number("n") {
                Some(len) if len >= 1 && first.checked_add(len).is_some() => Ok((id, Holds::Jobs { first, len })),
                _ => Err(bad_reply("entry", entry)),
            },
        }
    } else if field("stop").is_some() {
        Ok((id, Holds::Stop))
    } else {
        Err(bad_reply("entry", entry))
    }
}

/// Reads one entry of a textbook stream: one job (with `from`, the worker
/// that handed it back, if one did), or a stop.
pub(crate) fn parse_entry(entry: &Value) -> RedisResult<Taken> {
    match read_entry(entry)? {
        (id, Holds::Jobs { first, len: 1 }) => Ok(Taken::Job { id, job: JobId(first), from: handed_back_by(entry)? }),
        (_, Holds::Jobs { .. }) => Err(bad_reply("entry of one job", entry)),
        (id, Holds::Stop) => Ok(Taken::Stop { id }),
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

/// Adds the jobs of `jobs` to the stream, [`BATCH`] entries per round
/// trip, taking a permit for each job if the queue is bounded; then `stops`
/// stop entries. An entry holds one job, or with `run_len` (the tuned
/// flavor) up to that many consecutive ones (at most [`RUN_MAX`]), as many
/// as have arrived. With `counted` (distributed mode: the run's config),
/// each round trip is one transaction that also adds its jobs to the
/// count in the hash's `added` field, so a coordinator resuming the run
/// knows how many were added, and reads the jobs per entry the remote
/// workers measured (`run_len`) into `run_len`. Returns how many jobs it
/// added.
pub(crate) fn produce(
    conn: &mut Wire,
    keys: &Keys,
    mut jobs: Jobs<impl Iterator<Item = JobId>>,
    permits: Option<&Permits>,
    stops: u32,
    run_len: Option<&AtomicUsize>,
    counted: Option<&str>,
) -> RedisResult<u64> {
    let new_pipe = || {
        let mut pipe = redis::pipe();
        if counted.is_some() {
            pipe.atomic();
        }
        pipe
    };
    let mut pipe = new_pipe();
    let mut pending = 0;
    let mut added = 0;
    let mut in_pipe = 0;
    let mut flush = |pipe: &mut redis::Pipeline, pending: &mut usize, in_pipe: &mut u64| -> RedisResult<()> {
        if *pending > 0 {
            if let Some(config) = counted {
                if *in_pipe > 0 {
                    pipe.cmd("HINCRBY").arg(config).arg("added").arg(*in_pipe).ignore();
                }
                if run_len.is_some() {
                    // The jobs per entry the remote workers measured last.
                    pipe.cmd("HGET").arg(config).arg("run_len");
                }
            }
            let measured: Vec<Option<usize>> = pipe.query(conn)?;
            if let (Some(shared), Some(&Some(n))) = (run_len, measured.first()) {
                shared.store(n, Relaxed);
            }
            *pipe = new_pipe();
            *pending = 0;
            *in_pipe = 0;
        }
        Ok(())
    };
    loop {
        // Jobs arriving over time: what has arrived goes out before the
        // stream waits for the next, not when a batch is full.
        if pending > 0 && jobs.not_yet() {
            flush(&mut pipe, &mut pending, &mut in_pipe)?;
        }
        let mut want = run_len.map_or(1, |n| n.load(Relaxed).clamp(1, RUN_MAX)) as u64;
        if let Some(permits) = permits {
            if !permits.try_acquire() {
                // Send what we hold before waiting: the workers free
                // permits only by taking jobs.
                flush(&mut pipe, &mut pending, &mut in_pipe)?;
                if !permits.acquire() {
                    break;
                }
            }
            let mut got = 1;
            while got < want && permits.try_acquire() {
                got += 1;
            }
            want = got;
        }
        let Some(run) = jobs.claim(want) else { break };
        if let Some(permits) = permits {
            (run.len..want).for_each(|_| permits.release());
        }
        let entry = pipe.cmd("XADD").arg(&keys.jobs).arg("*").arg("j").arg(run.first);
        if run.len > 1 {
            entry.arg("n").arg(run.len);
        }
        entry.ignore();
        pending += 1;
        added += run.len;
        in_pipe += run.len;
        if pending == BATCH {
            flush(&mut pipe, &mut pending, &mut in_pipe)?;
        }
    }
    for _ in 0..stops {
        add_stop(&mut pipe, keys);
        pending += 1;
    }
    flush(&mut pipe, &mut pending, &mut in_pipe)?;
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
        assert_eq!(
            parse_read(&reply("j", "7")).unwrap(),
            Some(Taken::Job { id: "1-0".into(), job: JobId(7), from: None })
        );
        assert_eq!(parse_read(&reply("stop", "1")).unwrap(), Some(Taken::Stop { id: "1-0".into() }));
        assert_eq!(parse_read(&Value::Nil).unwrap(), None);
        let entries =
            |items: Vec<Value>| Value::Array(vec![Value::Array(vec![bulk("wp:{r}:jobs"), Value::Array(items)])]);
        let entry = |id: &str, fields: &[&str]| {
            Value::Array(vec![bulk(id), Value::Array(fields.iter().map(|f| bulk(f)).collect())])
        };
        let run = entries(vec![
            entry("1-0", &["j", "7", "n", "3"]),
            entry("2-0", &["stop", "1"]),
            entry("3-0", &["j", "20", "n", "2", "from", "4"]),
        ]);
        assert_eq!(
            parse_claimed(&run).unwrap(),
            [
                Claimed::Run { id: "1-0".into(), run: Run { first: 7, len: 3 }, from: None },
                Claimed::Stop { id: "2-0".into() },
                Claimed::Run { id: "3-0".into(), run: Run { first: 20, len: 2 }, from: Some(WorkerId(4)) },
            ]
        );
        let handed_back = entries(vec![entry("4-0", &["j", "9", "from", "2"])]);
        assert_eq!(
            parse_read(&handed_back).unwrap(),
            Some(Taken::Job { id: "4-0".into(), job: JobId(9), from: Some(WorkerId(2)) })
        );
        assert!(parse_read(&entries(vec![entry("5-0", &["j", "9", "from", "x"])])).is_err());
        assert!(parse_read(&run).is_err(), "a textbook stream holds one job an entry");
        for bad in [&["j", "7", "n", "0"][..], &["j", "7", "n", "x"], &["j", &u64::MAX.to_string(), "n", "2"]] {
            assert!(read_entry(&entry("3-0", bad)).is_err(), "{bad:?}");
        }
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
